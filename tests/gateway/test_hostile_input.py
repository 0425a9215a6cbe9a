"""Bad input gets a clear 4xx and loses nothing (invariant 7): one regression test per class that an
outside fuzzer found answering 5xx (issue 11)."""

from __future__ import annotations

import json
import time

import pytest
import redis
from litestar.testing import TestClient

from gateway.processes.app import create_app
from gateway.store import keys
from tests.helpers import (
    bearer,
    csrf,
    dead_letter,
    deliver,
    github_signature,
    log_in,
    settings_for,
    stored,
    stripe_signature,
)

STRIPE_SECRET = "whsec_hostile"
NESTED = b"[" * 50_000 + b"]" * 50_000


@pytest.fixture
def client(redis_url):
    settings = settings_for(redis_url, sources={"stripe": {"provider": "stripe", "secret": STRIPE_SECRET}})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def stripe(client: TestClient, body: bytes):
    signature = stripe_signature(body, STRIPE_SECRET, int(time.time()))
    return client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": signature})


def github(client: TestClient, body: bytes, **headers: str):
    return client.post(
        "/webhooks/github",
        content=body,
        headers={"X-Hub-Signature-256": github_signature(body), "X-GitHub-Event": "push", **headers},
    )


@pytest.mark.parametrize(
    ("body", "basis"),
    [
        (b'{"id": "evt_\\ud800", "type": "invoice.paid"}', b"body_sha256"),  # a lone surrogate escape
        (b'{"id": "evt_1", "type": "invoice.\\udfff"}', b"delivery_id"),  # ... in the event type
        (b'{"id": "evt_\\ud800\\ud800", "type": ["not", "text"]}', b"body_sha256"),
    ],
)
def test_a_signed_delivery_with_unusable_locator_values_is_stored(client, redis_url, body, basis):
    """An unusable value counts as absent: dedupe falls back to the body hash, the type is empty."""
    first = stripe(client, body)
    assert first.status_code == 202, first.text
    fields = stored(redis_url, first.json()["event_id"])
    assert fields[b"body"] == body, "the exact bytes"
    assert fields[b"dedupe_basis"] == basis
    assert fields[b"event_type"] in (b"", b"invoice.paid")
    again = stripe(client, body)
    assert again.status_code == 200 and again.json()["event_id"] == first.json()["event_id"]


def test_long_delivery_ids_and_event_types_are_stored_bounded_and_deduped_on_the_whole_id(client, redis_url):
    long_id, long_type = "d" * 5000, "t" * 100_000
    body = json.dumps({"id": long_id, "type": long_type}).encode()
    first = stripe(client, body)
    assert first.status_code == 202, first.text
    fields = stored(redis_url, first.json()["event_id"])
    assert (
        fields[b"delivery_id"] == long_id[:256].encode() and fields[b"event_type"] == long_type[:256].encode()
    )
    assert fields[b"body"] == body
    other = json.dumps({"id": long_id[:256] + "x" * 10, "type": "t"}).encode()
    assert stripe(client, other).status_code == 202, "ids sharing their first 256 characters differ"
    assert stripe(client, body).status_code == 200


def test_event_pages_show_bodies_json_cannot_redisplay(client, redis_url):
    surrogate = github(client, b'{"x": "\\ud800"}', **{"X-GitHub-Delivery": "s-1"}).json()["event_id"]
    nested = github(client, NESTED, **{"X-GitHub-Delivery": "s-2"}).json()["event_id"]
    log_in(client, "reader")
    for event_id, shown in ((surrogate, "\\ud800"), (nested, "[[[[")):
        page = client.get(f"/dashboard/events/{event_id}")
        assert page.status_code == 200 and shown in page.text
        api = client.get(f"/api/v1/events/{event_id}", headers=bearer("reader"))
        assert api.status_code == 200


def test_events_show_prints_bodies_json_cannot_redisplay():
    from gateway.frontends.display import pretty_body

    assert pretty_body(NESTED.decode()) == (NESTED.decode(), False)
    assert pretty_body('{"x": "\\ud800"}') == ('{"x": "\\ud800"}', False)
    assert pretty_body('{"x":1}') == ('{\n  "x": 1\n}', True)


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/dlq"])
@pytest.mark.parametrize("cursor", ["abc", "nan", "inf", "(1", "1e400", ""])
def test_a_malformed_cursor_is_a_422_not_an_outage(client, path, cursor):
    answer = client.get(path, params={"cursor": cursor}, headers=bearer("reader"))
    assert answer.status_code in (200, 422), answer.text
    if cursor:
        assert answer.status_code == 422 and "cursor" in answer.json()["detail"]


@pytest.mark.parametrize("page", ["/dashboard/events", "/dashboard/dlq"])
def test_a_malformed_cursor_on_a_dashboard_list_is_shown_not_an_outage(client, page):
    log_in(client, "reader")
    answer = client.get(page, params={"cursor": "abc"})
    assert answer.status_code == 422 and "cursor" in answer.text


@pytest.mark.parametrize(
    "path", ["/dashboard/static/%00", "/dashboard/static/..%2f..%2fsettings.py", "/dashboard/static/%ff"]
)
def test_odd_static_paths_are_not_found(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/api/v1/replays", "replay"),
        ("POST", "/api/v1/dlq/retry", "replay"),
        ("POST", "/api/v1/dlq/purge", "boss"),
        ("POST", "/api/v1/events/evt_x/replay", "replay"),
    ],
)
def test_deeply_nested_json_to_the_admin_api_is_a_4xx(client, method, path, scope):
    names = {"replay": "replayer", "boss": "boss"}
    for body, status in ((b"[" * 20_000 + b"]" * 20_000, 400), (NESTED, 413)):  # 40 KB, 100 KB
        answer = client.request(method, path, content=body, headers={**bearer(names[scope])})
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_dead_letter_helper_still_works(client, redis_url):
    assert dead_letter(redis_url, deliver(client, 99)).startswith("dlq_")


def test_a_csrf_pair_from_another_session_is_refused(redis_url):
    # Two gateway processes sharing the session secret, one browser each.
    with (
        TestClient(create_app(settings_for(redis_url))) as alice,
        TestClient(create_app(settings_for(redis_url))) as mallory,
    ):
        entry = dead_letter(redis_url, deliver(alice, 7))
        log_in(alice, "boss")
        log_in(mallory, "boss")
        pair_cookie = mallory.cookies.get("hookgate_csrf")
        pair_token = csrf(mallory, "/dashboard/dlq")
        alice.cookies.set("hookgate_csrf", pair_cookie, path="/dashboard")
        answer = alice.post(
            "/dashboard/dlq/discard", data={"ids": entry, "_csrf_token": pair_token}, follow_redirects=False
        )
        assert answer.status_code == 403 and "expired or came from another site" in answer.text
        assert redis.Redis.from_url(redis_url).zcard(keys.DLQ_INDEX) == 1


def test_metrics_and_the_api_document_want_a_token(redis_url):
    tokens = {"reader": "read-secret", "scraper": "scrape-secret"}
    scopes = {"scraper": "metrics"}
    settings = settings_for(redis_url, tokens=tokens, scopes=scopes)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        dead_letter(redis_url, deliver(client, 5))
        scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert scraped.status_code == 200 and "hookgate_deliveries_total" in scraped.text
        assert 'hookgate_dlq_entries{consumer="billing"} 1.0' in scraped.text, "gauges read from Redis"
        assert client.get("/api/v1/schema/openapi.json").status_code == 401
        read = {"Authorization": "Bearer read-secret"}
        assert client.get("/api/v1/schema/openapi.json", headers=read).status_code == 200
        assert (
            client.get("/api/v1/events", headers={"Authorization": "Bearer scrape-secret"}).status_code == 403
        )
        refused = client.post(
            "/dashboard/login",
            data={"token": "scrape-secret", "_csrf_token": csrf(client)},
            follow_redirects=False,
        )
        assert refused.status_code != 303, "a metrics-only token cannot look at events"
    public = settings.model_copy(update={"admin": settings.admin.model_copy(update={"public_metrics": True})})
    with TestClient(create_app(public)) as client:
        assert client.get("/metrics").status_code == 200


def test_the_public_part_serves_neither_metrics_nor_the_api_document(redis_url):
    with TestClient(create_app(settings_for(redis_url), part="public")) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/api/v1/schema/openapi.json", headers=bearer("reader")).status_code == 404
