"""The receiver's HTTP contract against a real uvicorn server, redis-server and Dramatiq worker."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import httpx
import redis

from gateway.store import keys
from tests.helpers import github_headers, handled, stored, stripe_signature, wait_for, write_config


def stripe_headers(body: bytes, secret: str, timestamp: int) -> dict:
    return {"Content-Type": "application/json", "Stripe-Signature": stripe_signature(body, secret, timestamp)}


def test_new_delivery_is_stored_enqueued_and_handled(redis_url, start_gateway, start_worker):
    gateway = start_gateway(redis_url)
    start_worker(redis_url)
    body = b'{"ref": "refs/heads/main"}'
    response = httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body))
    assert response.status_code == 202
    event_id = response.json()["event_id"]
    assert response.json() == {"event_id": event_id, "duplicate": False}
    assert event_id.startswith("evt_")
    wait_for(lambda: event_id in handled(redis_url), message="the consumer to run")
    wait_for(lambda: stored(redis_url, event_id)[b"status"] == b"processed", message="status processed")
    event = stored(redis_url, event_id)
    assert event[b"source"] == b"github"
    assert event[b"event_type"] == b"push"


def test_same_delivery_id_is_a_duplicate_naming_the_first_event(redis_url, start_gateway):
    gateway = start_gateway(redis_url)
    body = b'{"zen": "Keep it logically awesome."}'
    headers = github_headers(body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    first = httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=headers)
    again = httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=headers)
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"event_id": first.json()["event_id"], "duplicate": True}
    assert stored(redis_url, first.json()["event_id"])[b"deliveries"] == b"2"


def test_error_statuses_are_problem_json(redis_url, start_gateway):
    gateway = start_gateway(redis_url)
    body = b'{"ok": true}'

    unknown = httpx.post(f"{gateway.url}/webhooks/nope", content=body, headers=github_headers(body))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")

    bad = httpx.post(
        f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body, secret=b"wrong")
    )
    assert bad.status_code == 401
    problem = bad.json()
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert problem["status"] == 401 and problem["type"].startswith("urn:hookgate:problem:")
    assert "It's a Secret" not in bad.text

    missing = httpx.post(f"{gateway.url}/webhooks/github", content=body, headers={"X-GitHub-Event": "push"})
    assert missing.status_code == 401

    now = int(time.time())
    stale = httpx.post(
        f"{gateway.url}/webhooks/stripe",
        content=body,
        headers=stripe_headers(body, "whsec_new_secret", now - 3600),
    )
    future = httpx.post(
        f"{gateway.url}/webhooks/stripe",
        content=body,
        headers=stripe_headers(body, "whsec_new_secret", now + 3600),
    )
    rotated = httpx.post(
        f"{gateway.url}/webhooks/stripe",
        content=b'{"id": "evt_1", "type": "invoice.paid"}',
        headers=stripe_headers(b'{"id": "evt_1", "type": "invoice.paid"}', "whsec_old_secret", now),
    )
    assert (stale.status_code, future.status_code, rotated.status_code) == (401, 401, 202)


def test_body_over_the_source_limit_is_413(redis_url, start_gateway):
    gateway = start_gateway(redis_url)
    big = b"x" * 2048
    announced = httpx.post(
        f"{gateway.url}/webhooks/tiny", content=big, headers=github_headers(big, secret=b"tiny-secret")
    )
    assert announced.status_code == 413
    assert announced.headers["content-type"].startswith("application/problem+json")

    def chunks():
        for _ in range(4):
            yield b"y" * 512

    streamed = httpx.post(
        f"{gateway.url}/webhooks/tiny", content=chunks(), headers={"X-GitHub-Event": "push"}
    )
    assert streamed.status_code == 413
    fits = b"z" * 1000
    assert (
        httpx.post(
            f"{gateway.url}/webhooks/tiny", content=fits, headers=github_headers(fits, secret=b"tiny-secret")
        ).status_code
        == 202
    )


def test_raw_bytes_and_headers_are_stored_exactly(redis_url, start_gateway):
    gateway = start_gateway(redis_url)
    # JSON that would re-serialize differently: spacing, key order, escapes, a duplicate key.
    quirky = b'{ "b":1,"a" : [1.0, 2e3],\n "s":"\\u00e9\\/", "a":null }'
    response = httpx.post(f"{gateway.url}/webhooks/github", content=quirky, headers=github_headers(quirky))
    assert response.status_code == 202
    assert stored(redis_url, response.json()["event_id"])[b"body"] == quirky

    binary = bytes(range(256)) + b"\xff\xfe not utf-8"
    signature = hmac.new(b"partner-secret", binary, hashlib.sha256).hexdigest()
    headers = [
        ("X-Partner-Signature", f"sha256={signature}"),
        ("X-Partner-Delivery", "d-1"),
        ("Content-Type", "application/octet-stream"),
        ("X-Repeat", "one"),
        ("X-Repeat", "two"),
    ]
    response = httpx.post(f"{gateway.url}/webhooks/partner", content=binary, headers=headers)
    assert response.status_code == 202
    event = stored(redis_url, response.json()["event_id"])
    assert event[b"body"] == binary
    assert event[b"delivery_id"] == b"d-1"
    assert event[b"dedupe_basis"] == b"delivery_id"
    stored_headers = json.loads(event[b"headers"])
    sent = [[name.lower(), value] for name, value in headers]
    assert [pair for pair in stored_headers if pair in sent] == sent


def test_missing_delivery_id_falls_back_to_body_hash(redis_url, start_gateway):
    gateway = start_gateway(redis_url)
    body = b"not json at all"
    signature = hmac.new(b"partner-secret", body, hashlib.sha256).hexdigest()
    headers = {"X-Partner-Signature": f"sha256={signature}"}
    first = httpx.post(f"{gateway.url}/webhooks/partner", content=body, headers=headers)
    again = httpx.post(f"{gateway.url}/webhooks/partner", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["event_id"] == first.json()["event_id"]
    assert stored(redis_url, first.json()["event_id"])[b"dedupe_basis"] == b"body_sha256"


def test_fifty_concurrent_deliveries_of_one_id_make_one_event(redis_url, start_gateway):
    gateway = start_gateway(redis_url)
    body = b'{"action": "opened"}'
    headers = github_headers(body, delivery="same-delivery-50")

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=50)) as client:
            return await asyncio.gather(
                *(
                    client.post(f"{gateway.url}/webhooks/github", content=body, headers=headers)
                    for _ in range(50)
                )
            )

    responses = asyncio.run(fire())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [202]
    assert len({r.json()["event_id"] for r in responses}) == 1
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.zcard(keys.INDEX_ALL) == 1
        assert client.llen(keys.dramatiq_queue(keys.DISPATCH_QUEUE)) == 1
    finally:
        client.close()


def test_health_ready_and_metrics(redis_url, start_gateway):
    gateway = start_gateway(redis_url)
    assert httpx.get(f"{gateway.url}/healthz").status_code == 200
    assert httpx.get(f"{gateway.url}/readyz").status_code == 200
    body = b"{}"
    httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body))
    httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body, secret=b"bad"))
    metrics = httpx.get(f"{gateway.url}/metrics")
    assert metrics.status_code == 200
    assert 'hookgate_deliveries_total{outcome="accepted",source="github"} 1.0' in metrics.text
    assert 'hookgate_deliveries_total{outcome="rejected_signature",source="github"} 1.0' in metrics.text
    assert "hookgate_ingest_seconds_bucket" in metrics.text


def test_logs_carry_ids_but_never_secrets_signatures_or_bodies(redis_url, start_gateway):
    gateway = start_gateway(redis_url)
    body = b'{"very": "private-payload-marker"}'
    headers = github_headers(body, delivery="log-check-delivery")
    assert httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=headers).status_code == 202
    httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body, secret=b"nope"))
    wait_for(lambda: "log-check-delivery" in gateway.output(), message="the log line")
    output = gateway.output()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    stored_line = next(line for line in lines if line.get("delivery_id") == "log-check-delivery")
    assert stored_line["source"] == "github" and stored_line["event_id"].startswith("evt_")
    assert "private-payload-marker" not in output
    assert headers["X-Hub-Signature-256"].split("=", 1)[1] not in output
    assert "It's a Secret" not in output


def test_admin_port_moves_the_api_and_metrics_to_a_second_listener(tmp_path, redis_url, start_gateway):
    from gateway.processes.dev import free_port

    admin_port = free_port()
    config = write_config(tmp_path, f"\n[admin]\nport = {admin_port}\n")
    gateway = start_gateway(redis_url, config=config)
    admin = f"http://127.0.0.1:{admin_port}"
    body = b"{}"
    assert (
        httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body)).status_code
        == 202
    )
    assert httpx.get(f"{gateway.url}/metrics").status_code == 404
    assert httpx.get(f"{gateway.url}/api/v1/stats").status_code == 404
    assert httpx.get(f"{admin}/metrics").status_code == 200
    assert httpx.get(f"{admin}/api/v1/stats").status_code == 401
    assert (
        httpx.post(f"{admin}/webhooks/github", content=body, headers=github_headers(body)).status_code == 404
    )
    assert httpx.get(f"{admin}/healthz").status_code == 200
    assert gateway.stop() == 0, "SIGTERM stops both listeners"
