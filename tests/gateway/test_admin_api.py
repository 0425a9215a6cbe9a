"""The admin API over a real redis-server: tokens and scopes, every route's 200/401/403/404/422, and
the route test on a configuration with filters and transformations."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import pytest
import redis
from litestar.testing import TestClient

from gateway import operate
from gateway.config import Settings
from gateway.processes.app import create_app
from gateway.store import keys
from gateway.store.dlq import DeadLetterFilter
from gateway.store.events import EventFilter
from tests.helpers import GITHUB_SECRET, TOKENS, bearer, dead_letter, deliver, destination, github_signature


def admin_settings(redis_url: str, **more: Any) -> Settings:
    """A ``github`` source and the three tokens of ``TOKENS`` (read, replay, admin), plus ``more``."""
    return Settings.model_validate(
        {
            "redis": {"url": redis_url},
            "sources": {"github": {"provider": "github", "secret": GITHUB_SECRET}},
            "admin": {
                "tokens": [
                    {
                        "name": name,
                        "scopes": [scope],
                        "token": "sha256:" + hashlib.sha256(secret.encode()).hexdigest(),
                    }
                    for (name, secret), scope in zip(TOKENS.items(), ["read", "replay", "admin"], strict=True)
                ]
            },
            **more,
        }
    )


@pytest.fixture
def client(redis_url):
    with TestClient(create_app(admin_settings(redis_url))) as test_client:
        yield test_client


ROUTES = [
    ("GET", "/api/v1/events", "read"),
    ("GET", "/api/v1/events/evt_x", "read"),
    ("GET", "/api/v1/events/evt_x/routes", "read"),
    ("POST", "/api/v1/routes/test", "read"),
    ("POST", "/api/v1/events/evt_x/replay", "replay"),
    ("POST", "/api/v1/replays", "replay"),
    ("GET", "/api/v1/replays/rpl_x", "replay"),
    ("GET", "/api/v1/dlq", "read"),
    ("GET", "/api/v1/dlq/dlq_x", "read"),
    ("POST", "/api/v1/dlq/dlq_x/retry", "replay"),
    ("POST", "/api/v1/dlq/retry", "replay"),
    ("DELETE", "/api/v1/dlq/dlq_x", "admin"),
    ("POST", "/api/v1/dlq/purge", "admin"),
    ("GET", "/api/v1/stats", "read"),
    ("GET", "/api/v1/issues", "read"),
    ("GET", "/api/v1/issues/iss_x", "read"),
    ("POST", "/api/v1/issues/iss_x/ack", "replay"),
    ("POST", "/api/v1/issues/iss_x/retry", "replay"),
    ("GET", "/api/v1/destinations", "read"),
    ("GET", "/api/v1/destinations/billing", "read"),
    ("POST", "/api/v1/destinations/billing/pause", "replay"),
    ("POST", "/api/v1/destinations/billing/resume", "replay"),
    ("POST", "/api/v1/destinations/billing/dead-letter", "replay"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
def test_every_route_wants_a_token_with_its_scope(client, method, path, scope):
    body = {} if method == "POST" else None
    assert client.request(method, path, json=body).status_code == 401
    assert (
        client.request(method, path, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    weaker = {"read": None, "replay": "reader", "admin": "replayer"}[scope]
    if weaker:
        denied = client.request(method, path, json=body, headers=bearer(weaker))
        assert denied.status_code == 403
        assert denied.headers["content-type"].startswith("application/problem+json")
    allowed = client.request(method, path, json=body, headers=bearer("boss"))
    assert allowed.status_code not in (401, 403)


def test_events_list_pages_every_event_once_while_new_ones_arrive(client):
    first_batch = [deliver(client, n) for n in range(7)]
    seen: list[str] = []
    cursor = None
    arrived = []
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/events", params=params, headers=bearer("reader")).json()
        seen += [e["event_id"] for e in page["items"]]
        if len(arrived) < 2:
            arrived.append(deliver(client, 100 + len(arrived)))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(first_batch)
    assert len(seen) == len(set(seen))
    newest = client.get("/api/v1/events", params={"limit": 2}, headers=bearer("reader")).json()["items"]
    assert [e["event_id"] for e in newest] == arrived[::-1]


def test_event_detail_and_404_and_422(client):
    event_id = deliver(client, 1)
    detail = client.get(f"/api/v1/events/{event_id}", headers=bearer("reader")).json()
    assert detail["event_id"] == event_id and detail["body"] == '{"n": 1}'
    assert ["x-github-event", "push"] in detail["headers"] and detail["body_base64"]
    assert client.get("/api/v1/events/evt_missing", headers=bearer("reader")).status_code == 404
    bad_time = client.get("/api/v1/events", params={"since": "soonish"}, headers=bearer("reader"))
    assert bad_time.status_code == 422 and "since" in bad_time.json()["detail"]
    assert client.get("/api/v1/events", params={"limit": "many"}, headers=bearer("reader")).status_code == 422
    assert client.get("/api/v1/events", params={"limit": 0}, headers=bearer("reader")).status_code == 422
    bad_body = client.post("/api/v1/replays", content=b"{not json", headers=bearer("replayer"))
    assert bad_body.status_code in (400, 422)


def test_replay_one_and_bulk(client, redis_url, replay_worker):
    event_id = deliver(client, 1)
    assert (
        client.post(f"/api/v1/events/{event_id}/replay", json={}, headers=bearer("replayer")).status_code
        == 202
    )
    assert (
        client.post("/api/v1/events/evt_missing/replay", json={}, headers=bearer("replayer")).status_code
        == 404
    )
    store = redis.Redis.from_url(redis_url)
    assert store.llen(keys.dramatiq_queue(keys.DISPATCH_QUEUE)) == 2  # the original and the replay
    started = client.post(
        "/api/v1/replays", json={"source": "github", "dry_run": True}, headers=bearer("replayer")
    )
    assert started.status_code == 202
    replay_id = started.json()["replay_id"]
    for _ in range(100):
        progress = client.get(f"/api/v1/replays/{replay_id}", headers=bearer("replayer")).json()
        if progress["status"] == "done":
            break
        time.sleep(0.05)
    assert progress["status"] == "done" and progress["matched"] == 1 and progress["dry_run"]
    assert client.get("/api/v1/replays/rpl_nope", headers=bearer("replayer")).status_code == 404


def test_dead_letters_list_show_retry_discard_purge_and_audit(client, redis_url, capsys):
    events = [deliver(client, n) for n in range(3)]
    entries = [dead_letter(redis_url, e) for e in events]
    listed = client.get("/api/v1/dlq", headers=bearer("reader")).json()
    assert sorted(e["id"] for e in listed["items"]) == sorted(entries) and listed["next_cursor"] is None
    shown = client.get(f"/api/v1/dlq/{entries[0]}", headers=bearer("reader")).json()
    assert shown["consumer"] == "billing" and shown["attempts"] == 3
    assert client.get("/api/v1/dlq/dlq_missing", headers=bearer("reader")).status_code == 404

    assert client.post(f"/api/v1/dlq/{entries[0]}/retry", headers=bearer("replayer")).status_code == 202
    assert client.post("/api/v1/dlq/dlq_missing/retry", headers=bearer("replayer")).status_code == 404
    assert client.delete(f"/api/v1/dlq/{entries[1]}", headers=bearer("boss")).status_code == 204
    assert client.delete(f"/api/v1/dlq/{entries[1]}", headers=bearer("boss")).status_code == 404
    purged = client.post("/api/v1/dlq/purge", json={"consumer": "billing"}, headers=bearer("boss"))
    assert purged.status_code == 200 and purged.json() == {"purged": 1}
    stats = client.get("/api/v1/stats", headers=bearer("reader")).json()
    assert stats["events"] == 3 and stats["dlq_size"] == 0
    assert (
        client.post("/api/v1/dlq/purge", json={"older_than": "whenever"}, headers=bearer("boss")).status_code
        == 422
    )


def test_issues_are_listed_shown_acknowledged_and_their_dead_letters_retried(client, redis_url):
    event_id = deliver(client, 42)
    dead_letter(redis_url, event_id)
    listed = client.get("/api/v1/issues", headers=bearer("reader"))
    assert listed.status_code == 200
    [issue] = listed.json()["items"]
    assert issue["consumer"] == "billing" and issue["status"] == "open" and issue["dead_letters"] == 1
    shown = client.get(f"/api/v1/issues/{issue['id']}", headers=bearer("reader")).json()
    assert shown["events"] == [event_id] and "answered 500" in shown["last_error"]
    assert client.post(f"/api/v1/issues/{issue['id']}/ack", headers=bearer("reader")).status_code == 403
    acked = client.post(f"/api/v1/issues/{issue['id']}/ack", headers=bearer("replayer"))
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert client.get("/api/v1/issues?status=open", headers=bearer("reader")).json()["items"] == []
    retried = client.post(f"/api/v1/issues/{issue['id']}/retry", headers=bearer("replayer"))
    assert retried.status_code == 202 and retried.json() == {"retried": 1}
    assert client.get("/api/v1/dlq", headers=bearer("reader")).json()["items"] == []
    assert client.post("/api/v1/issues/iss_nope/resolve", headers=bearer("replayer")).status_code == 404
    assert client.post(f"/api/v1/issues/{issue['id']}/explode", headers=bearer("replayer")).status_code in (
        400,
        404,
        422,
    )
    assert client.get("/api/v1/issues?cursor=abc", headers=bearer("reader")).status_code == 422


def test_destinations_are_listed_shown_paused_resumed_and_their_held_dead_lettered(client, redis_url, capsys):
    destination(redis_url, "billing", held=(deliver(client, 1), deliver(client, 2)))
    destination(redis_url, "crm")
    listed = client.get("/api/v1/destinations", headers=bearer("reader"))
    assert listed.status_code == 200 and listed.json()["next_cursor"] is None
    assert [(d["consumer"], d["state"], d["held"]) for d in listed.json()["items"]] == [
        ("billing", "paused", 2),
        ("crm", "closed", 0),
    ]
    crm = client.get("/api/v1/destinations/crm", headers=bearer("reader")).json()
    assert crm["max_in_flight"] == 4 and crm["rate_limit"] == "50/s" and crm["last_error"] is None
    missing = client.get("/api/v1/destinations/nobody", headers=bearer("reader"))
    assert missing.status_code == 404 and "no destination named 'nobody'" in missing.json()["detail"]

    paused = client.post("/api/v1/destinations/crm/pause", headers=bearer("replayer"))
    assert paused.status_code == 202 and paused.json()["state"] == "paused"
    assert paused.json()["paused_at"].endswith("Z")
    assert "destination pause" in capsys.readouterr().out, "an audit line"
    assert client.get("/api/v1/destinations/crm", headers=bearer("reader")).json()["state"] == "paused"
    resumed = client.post("/api/v1/destinations/crm/resume", headers=bearer("replayer"))
    assert resumed.status_code == 202 and resumed.json()["state"] == "closed"
    assert resumed.json()["paused_at"] is None
    for action in ("pause", "resume", "dead-letter"):
        gone = client.post(f"/api/v1/destinations/nobody/{action}", headers=bearer("replayer"))
        assert gone.status_code == 404, action

    moved = client.post("/api/v1/destinations/billing/dead-letter", headers=bearer("replayer"))
    assert moved.status_code == 200 and moved.json() == {"moved": 2}
    assert "destination dead-letter held" in capsys.readouterr().out
    assert client.get("/api/v1/destinations/billing", headers=bearer("reader")).json()["held"] == 0
    letters = client.get("/api/v1/dlq", params={"consumer": "billing"}, headers=bearer("reader")).json()
    assert len(letters["items"]) == 2 and letters["items"][0]["error_type"] == "Held"


def _document() -> dict[str, Any]:
    """The admin API's OpenAPI document, built without a Redis to talk to."""
    settings = Settings.model_validate({"redis": {"url": "redis://127.0.0.1:1/0"}})
    return create_app(settings).openapi_schema.to_schema()


def test_every_operation_names_a_schema_for_each_answer():
    document = _document()
    components = document["components"]["schemas"]
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) == 23  # ROUTES (where an issue's ack and retry are one operation) + cancel
    for method, path, operation in operations:
        answers = operation["responses"]
        assert any(status.startswith("2") for status in answers), (method, path)
        for status, answer in answers.items():
            if status == "204":
                assert "content" not in answer, (method, path)
                continue
            media_type = "application/json" if status.startswith("2") else "application/problem+json"
            [(declared, content)] = answer["content"].items()
            assert declared == media_type, (method, path, status)
            ref = content["schema"]["$ref"]
            name = ref.removeprefix("#/components/schemas/")
            model = components[name]
            assert model["type"] == "object" and model["properties"] and model["required"], name
            assert "additionalProperties" not in model, name
            if not status.startswith("2"):
                assert name == "Problem", (method, path, status)


def test_answers_carry_the_operator_records_unchanged(client, redis_url):
    """The typed models neither drop, add nor retype a key of what the use cases return."""
    events = [deliver(client, n) for n in range(2)]
    entries = [dead_letter(redis_url, e) for e in events]
    context = client.app.state.admin.reader
    headers = bearer("reader")

    def answer(path: str) -> Any:
        found = client.get(path, headers=headers)
        assert found.status_code == 200, found.text
        return found.json()

    def wire(value: Any) -> Any:
        return json.loads(json.dumps(value))

    page, cursor = operate.events.page(context, EventFilter())
    assert answer("/api/v1/events") == {"items": wire(page), "next_cursor": cursor}
    detail = answer(f"/api/v1/events/{events[0]}")
    assert detail == wire(operate.events.show(context, events[0]))
    assert {"event_id", "headers", "body", "body_base64", "consumers", "attempts"} <= detail.keys()
    letters, cursor = operate.dead_letters.page(context, DeadLetterFilter())
    assert answer("/api/v1/dlq") == {"items": wire(letters), "next_cursor": cursor}
    assert "history" not in letters[0]
    letter = answer(f"/api/v1/dlq/{entries[0]}")
    assert letter == wire(operate.dead_letters.show(context, entries[0])) and "history" in letter
    [issue] = answer("/api/v1/issues")["items"]
    assert issue == wire(operate.issues.get(context, issue["id"]).record())
    assert answer(f"/api/v1/issues/{issue['id']}") == wire(operate.issues.show(context, issue["id"]))
    assert answer("/api/v1/stats") == wire(operate.stats.summary(context))
    destination(redis_url, "billing", held=(events[1],))
    listed = answer("/api/v1/destinations")
    assert listed == {"items": wire(operate.destinations.list_all(context)), "next_cursor": None}
    shown = answer("/api/v1/destinations/billing")
    assert shown == wire(operate.destinations.show(context, "billing")) and shown["paused_at"]


# route test

#: Never called: a route test sends nothing.
NOWHERE = "http://127.0.0.1:9"
SIGN_SECRET = "whsec_" + base64.b64encode(b"route-test-signing-key-0123").decode()
ROUTED = {
    "sources": {
        "github": {"provider": "github", "secret": GITHUB_SECRET},
        "stripe": {"provider": "stripe", "secrets": ["whsec_route_test"]},
    },
    "forward": [
        {  # a filter and a transformation (Stripe invoice to a Slack message) with a secret header
            "name": "slack",
            "source": "stripe",
            "events": ["invoice.*"],
            "url": f"{NOWHERE}/hooks",
            "filter": {"body": {"data": {"object": {"amount_paid": {"$gte": 1000}}}}},
            "transform": "tests.integration.shapes:stripe_to_slack",
            "headers": {"Authorization": "Bearer slack-route-secret"},
        },
        {
            "name": "broken",
            "source": "stripe",
            "url": NOWHERE,
            "transform": "tests.integration.shapes:raises",
        },
        {
            "name": "stuck",
            "source": "stripe",
            "url": NOWHERE,
            "transform": "tests.integration.shapes:loops",
            "transform_timeout_seconds": 0.3,
        },
        {
            "name": "ci",
            "source": "github",
            "url": f"{NOWHERE}/ci",
            "filter": {"body": {"ref": "refs/heads/main"}},
            "headers": {"X-Api-Key": "ci-route-secret"},
            "sign_secret": SIGN_SECRET,
        },
    ],
}
MINE = {"slack", "broken", "stuck", "ci"}


def invoice(amount: int) -> dict[str, Any]:
    return {
        "source": "stripe",
        "event_type": "invoice.paid",
        "body": json.dumps({"data": {"object": {"id": "in_1", "amount_paid": amount, "currency": "usd"}}}),
        "headers": ["Content-Type: application/json", "Stripe-Signature: t=1,v1=abc"],
    }


def verdicts(answer: Any) -> dict[str, dict[str, Any]]:
    """The configured forwards' verdicts by name (a test process may have registered other consumers)."""
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["next_cursor"] is None
    found = {verdict["consumer"]: verdict for verdict in body["items"]}
    assert found.keys() >= MINE
    return {name: found[name] for name in MINE}


@pytest.fixture
def routed(redis_url):
    with TestClient(create_app(admin_settings(redis_url, **ROUTED))) as test_client:
        yield test_client


def test_route_test_of_a_described_delivery_gives_each_consumers_verdict(routed):
    started = time.monotonic()
    answer = routed.post("/api/v1/routes/test", json=invoice(1500), headers=bearer("reader"))
    found = verdicts(answer)
    assert time.monotonic() - started < 5, "the looping transformation was stopped at its limit"
    slack = found["slack"]
    assert slack["outcome"] == "delivered" and slack["reason"] is None
    sent = slack["request"]
    assert sent["method"] == "POST" and sent["url"] == f"{NOWHERE}/slack"
    assert json.loads(sent["body"]) == {"text": "Invoice in_1 paid: 15.00 USD"}
    assert sent["body_base64"] is None and sent["size"] == len(sent["body"].encode())
    assert ["Authorization", "[redacted]"] in sent["headers"]
    assert ["Content-Type", "application/json"] in sent["headers"]
    assert ["X-Hookgate-Source", "stripe"] in sent["headers"]
    assert "slack-route-secret" not in answer.text, "a configured header's value is never shown"
    assert found["broken"]["outcome"] == "error" and "KeyError" in found["broken"]["reason"]
    assert found["broken"]["request"] is None
    assert found["stuck"]["outcome"] == "error" and "ran past its 0.3 s limit" in found["stuck"]["reason"]
    assert found["ci"] == {
        "consumer": "ci",
        "outcome": "not routed",
        "reason": "wants source 'github' (any type)",
        "request": None,
    }

    small = verdicts(routed.post("/api/v1/routes/test", json=invoice(500), headers=bearer("reader")))
    assert small["slack"]["outcome"] == "filtered" and small["slack"]["request"] is None
    assert small["slack"]["reason"] == "body.data.object.amount_paid: 500 is not >= 1000"
    other = verdicts(
        routed.post(
            "/api/v1/routes/test",
            json={**invoice(1500), "event_type": "charge.failed"},
            headers=bearer("reader"),
        )
    )
    assert other["slack"]["outcome"] == "not routed" and "invoice.*" in other["slack"]["reason"]

    binary = {"source": "github", "body_base64": base64.b64encode(b"\xff\x00 not json").decode()}
    ci = verdicts(routed.post("/api/v1/routes/test", json=binary, headers=bearer("reader")))["ci"]
    assert ci["outcome"] == "filtered", "a body that is not JSON declines a filter that looks into it"


def test_route_test_of_a_stored_event_shows_what_a_forward_would_send_with_its_secrets_redacted(routed):
    main = json.dumps({"ref": "refs/heads/main", "commits": []}).encode()
    headers = {
        "X-Hub-Signature-256": github_signature(main),
        "X-GitHub-Delivery": "d-main",
        "X-GitHub-Event": "push",
    }
    event_id = routed.post("/webhooks/github?team=api", content=main, headers=headers).json()["event_id"]
    answer = routed.get(f"/api/v1/events/{event_id}/routes", headers=bearer("reader"))
    found = verdicts(answer)
    assert {name: v["outcome"] for name, v in found.items()} == {
        "ci": "delivered",
        "slack": "not routed",
        "broken": "not routed",
        "stuck": "not routed",
    }
    sent = found["ci"]["request"]
    assert sent["url"] == f"{NOWHERE}/ci" and sent["body"] == main.decode() and sent["size"] == len(main)
    shown = dict(sent["headers"])
    assert shown["X-Api-Key"] == "[redacted]" and shown["webhook-signature"] == "[redacted]"
    assert shown["X-Hookgate-Event-Id"] == event_id and shown["x-github-event"] == "push"
    assert "ci-route-secret" not in answer.text and SIGN_SECRET not in answer.text

    declined = verdicts(routed.get(f"/api/v1/events/{deliver(routed, 1)}/routes", headers=bearer("reader")))
    assert declined["ci"]["outcome"] == "filtered" and declined["ci"]["reason"] == "body.ref: missing"
    missing = routed.get("/api/v1/events/evt_missing/routes", headers=bearer("reader"))
    assert missing.status_code == 404 and missing.json()["detail"] == "no event 'evt_missing'"
    assert missing.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": "gitlab"}, "source"),
        ({"body": None, "body_base64": "not base64!"}, "body_base64"),
        ({"body_base64": "e30="}, "body_base64"),  # and body: one or the other
        ({"headers": ["Content-Type: application/json", "no colon here"]}, "headers"),
        ({"headers": [": empty name"]}, "headers"),
    ],
)
def test_route_test_refuses_a_delivery_it_cannot_describe_naming_the_field(routed, change, field):
    answer = routed.post("/api/v1/routes/test", json={**invoice(1500), **change}, headers=bearer("reader"))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["detail"].startswith(f"{field}: ")


def test_route_test_without_a_source_is_refused(routed):
    answer = routed.post("/api/v1/routes/test", json={"body": "{}"}, headers=bearer("reader"))
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")


def test_a_configuration_whose_consumers_cannot_load_is_a_422_saying_why(redis_url, capsys):
    broken = [{"name": "gone", "source": "github", "url": NOWHERE, "transform": "tests.nowhere:shape"}]
    with TestClient(create_app(admin_settings(redis_url, forward=broken))) as client:
        event_id = deliver(client, 1)
        for answer in (
            client.get(f"/api/v1/events/{event_id}/routes", headers=bearer("reader")),
            client.post("/api/v1/routes/test", json={"source": "github"}, headers=bearer("reader")),
        ):
            assert answer.status_code == 422, answer.text
            detail = answer.json()["detail"]
            assert detail.startswith("the consumers cannot be loaded: forward 'gone': transform")
            assert "tests.nowhere" in detail and "Traceback" not in answer.text
        assert client.get(f"/api/v1/events/{event_id}", headers=bearer("reader")).status_code == 200
    assert "route test: the consumers cannot be loaded" in capsys.readouterr().out
