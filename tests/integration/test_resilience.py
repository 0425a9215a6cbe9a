"""Nothing is lost when Redis, the worker or the gateway goes away (invariants 1, 2 and 7)."""

from __future__ import annotations

import signal

import httpx

from gateway.dev import EmbeddedRedis
from tests.conftest import start_redis
from tests.integration.conftest import handled, wait_for
from tests.integration.test_receiver import github_headers, stored


def test_redis_down_is_503_with_retry_after_and_recovers_without_restart(tmp_path, start_gateway):
    server = start_redis(tmp_path / "redis")
    try:
        gateway = start_gateway(server.url)
        body = b'{"n": 1}'
        assert (
            httpx.post(
                f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body)
            ).status_code
            == 202
        )

        server.stop()
        down = httpx.post(
            f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body), timeout=5
        )
        assert down.status_code == 503
        assert down.headers["retry-after"] == "3"
        assert down.headers["content-type"].startswith("application/problem+json")
        ready = httpx.get(f"{gateway.url}/readyz", timeout=5)
        assert ready.status_code == 503
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200

        server = EmbeddedRedis(server.data_dir, port=server.port)
        server.start()
        assert httpx.get(f"{gateway.url}/readyz").status_code == 200
        back = httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body))
        assert back.status_code == 202
        assert stored(server.url, back.json()["event_id"])[b"body"] == body
    finally:
        server.stop()


def test_delivery_while_the_worker_is_down_is_handled_when_it_starts(redis_url, start_gateway, start_worker):
    gateway = start_gateway(redis_url)
    body = b'{"queued": "while no worker runs"}'
    response = httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body))
    assert response.status_code == 202
    event_id = response.json()["event_id"]
    assert stored(redis_url, event_id)[b"status"] == b"queued"
    start_worker(redis_url)
    wait_for(lambda: event_id in handled(redis_url), message="the late worker to handle the event")


def test_event_stored_then_gateway_killed_still_reaches_a_worker(redis_url, start_gateway, start_worker):
    """Store and enqueue are one atomic Redis step: once the sender has its 202 the message is queued,
    so killing the gateway (SIGKILL, no shutdown hooks) right after the store loses nothing."""
    gateway = start_gateway(redis_url)
    body = b'{"survives": "a dead gateway"}'
    response = httpx.post(f"{gateway.url}/webhooks/github", content=body, headers=github_headers(body))
    assert response.status_code == 202
    gateway.stop(signal.SIGKILL)
    start_worker(redis_url)
    event_id = response.json()["event_id"]
    wait_for(lambda: event_id in handled(redis_url), message="the worker to handle the event")
    wait_for(lambda: stored(redis_url, event_id)[b"status"] == b"processed", message="processed")
