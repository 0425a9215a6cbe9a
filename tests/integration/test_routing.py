"""Filters and transformations end to end: real gateway and worker processes, a local HTTP target.

Three forwards on one source with different filters (a GitHub branch, a Stripe amount with ``$gte``, a
Shopify country with ``$in``) each receive exactly their events from a mixed stream; the declined ones
show as ``filtered`` in the CLI, the API and the dashboard. Transformations that reshape, raise, loop
past their limit and decline. ``ROUTING_EVENTS`` scales the stream: 300 in ``make test``, the
acceptance's 1,000 in ``make chaos``.
"""

from __future__ import annotations

import json
import os
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from litestar.testing import TestClient

from gateway.processes.app import create_app
from gateway.store import keys
from gateway.store.ledger import Ledger
from tests.helpers import bearer, cli, forward, log_in, post, settings_for, wait_for, write_config
from tests.integration.sink import Sink

EVENTS = int(os.environ.get("ROUTING_EVENTS", "300"))
WORKER = "\n[worker]\nthreads = 8\nidle_poll_ms = 10\ndelay_poll_ms = 20\n"
#: A source no test consumer module listens to: what reaches a forward is all that happens to an event.
MIXED = '\n[sources.mixed]\nprovider = "github"\nsecret = "mixed-secret"\n'


MAIN_PUSHES = {"body": {"ref": "refs/heads/main"}}
BIG_INVOICES = {"body": {"type": "invoice.paid", "data": {"object": {"amount_paid": {"$gte": 100000}}}}}
EU_ORDERS = {"body": {"shipping_address": {"country_code": {"$in": ["DE", "FR", "NL"]}}}}


def mixed(rng: random.Random, n: int) -> tuple[str, dict[str, Any]]:
    """One of a GitHub push, a Stripe invoice event or a Shopify order, shaped as each sends them."""
    kind = rng.choice(["push", "invoice", "order"])
    if kind == "push":
        branch = rng.choice(["main", "dev", "release/1.2", "main-old"])
        return "push", {"ref": f"refs/heads/{branch}", "after": f"{n:040x}", "repository": {"id": 7}}
    if kind == "invoice":
        invoice = {
            "id": f"in_{n}",
            "amount_paid": rng.choice([500, 99_999, 100_000, 250_000]),
            "currency": "usd",
        }
        return "invoice", {
            "id": f"evt_{n}",
            "type": rng.choice(["invoice.paid", "invoice.voided"]),
            "data": {"object": invoice},
        }
    country = rng.choice(["DE", "FR", "US", "GB", "NL", None])
    order = {"id": n, "shipping_address": {"country_code": country} if country else None}
    return "order", order


def wanted(body: dict[str, Any]) -> set[str]:
    """The forwards each body should reach, computed here without the filter language."""
    found = set()
    if body.get("ref") == "refs/heads/main":
        found.add("main-pushes")
    data = body.get("data")
    if (
        body.get("type") == "invoice.paid"
        and isinstance(data, dict)
        and data["object"]["amount_paid"] >= 100_000
    ):
        found.add("big-invoices")
    address = body.get("shipping_address")
    if isinstance(address, dict) and address.get("country_code") in ("DE", "FR", "NL"):
        found.add("eu-orders")
    return found


def test_three_filtered_forwards_each_receive_exactly_their_events(
    tmp_path, redis_url, sink: Sink, start_gateway, start_worker
) -> None:
    config = write_config(
        tmp_path,
        MIXED
        + forward("main-pushes", sink.url("/main"), source="mixed", filter=MAIN_PUSHES)
        + forward("big-invoices", sink.url("/invoices"), source="mixed", filter=BIG_INVOICES)
        + forward("eu-orders", sink.url("/orders"), source="mixed", filter=EU_ORDERS)
        + WORKER,
    )
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    rng = random.Random(20)
    bodies = [mixed(rng, n) for n in range(EVENTS)]

    def send(item: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        kind, body = item
        raw = json.dumps(body).encode()
        return post(gateway.url, "mixed", b"mixed-secret", raw, event=kind), body

    with ThreadPoolExecutor(16) as pool:
        sent = dict(pool.map(send, bodies))
    expected = {
        name: {e for e, body in sent.items() if name in wanted(body)}
        for name in ("main-pushes", "big-invoices", "eu-orders")
    }
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: client.zcard(keys.UNSETTLED) == 0, 60, "every event settled")

    for name, path in (("main-pushes", "/main"), ("big-invoices", "/invoices"), ("eu-orders", "/orders")):
        received = [r.header("X-Hookgate-Event-Id") for r in sink.to(path)]
        assert sorted(received) == sorted(expected[name]), name  # each exactly once
    nobody = [e for e, body in sent.items() if not wanted(body)]
    assert nobody, "the stream has events no forward wants"
    statuses = {client.hget(keys.event(e), "status") for e in nobody}
    assert statuses == {b"filtered"}
    some = next(e for e, body in sent.items() if wanted(body) == {"main-pushes"})
    assert Ledger(client).states(some) == {
        "main-pushes": "processed",
        "big-invoices": "filtered",
        "eu-orders": "filtered",
    }
    assert client.zcard(keys.DLQ_INDEX) == 0

    # What an operator sees: the CLI, the API and the dashboard.
    shown = json.loads(
        cli("events", "show", some, "--json", "--config", str(config), redis_url=redis_url).stdout
    )
    assert shown["consumers"]["big-invoices"] == "filtered"
    reasons = [a["error"] for a in shown["attempts"] if a["outcome"] == "filtered"]
    assert len(reasons) == 2 and all(reasons), reasons
    stats = json.loads(cli("events", "stats", "--json", "--config", str(config), redis_url=redis_url).stdout)
    assert stats["by_status"]["filtered"] == len(nobody)
    listed = cli(
        "events", "list", "--status", "filtered", "--json", "--config", str(config), redis_url=redis_url
    )
    assert listed.returncode == 0
    listed_ids = {item["event_id"] for item in json.loads(listed.stdout)}
    assert listed_ids and listed_ids <= set(nobody)
    with TestClient(create_app(settings_for(redis_url))) as web:
        answer = web.get(f"/api/v1/events/{some}", headers=bearer("reader")).json()
        assert answer["consumers"]["eu-orders"] == "filtered"
        log_in(web, "reader")
        page = web.get(f"/dashboard/events/{some}").text
        assert "filtered" in page and "big-invoices" in page


SHAPES = "tests.integration.shapes"
STRIPE_INVOICE = {
    "id": "evt_1",
    "type": "invoice.paid",
    "data": {"object": {"id": "in_1", "amount_paid": 123456, "currency": "eur"}},
}


@pytest.fixture
def transformed(tmp_path, redis_url, sink: Sink, start_gateway, start_worker):
    quick = {"max_retries": 1, "min_backoff_ms": 100, "max_backoff_ms": 100}
    config = write_config(
        tmp_path,
        MIXED
        + forward("slack", sink.url("/hooks"), source="mixed", transform=f"{SHAPES}:stripe_to_slack")
        + forward("buggy", sink.url("/buggy"), source="mixed", transform=f"{SHAPES}:raises", **quick)
        + forward(
            "stuck",
            sink.url("/stuck"),
            source="mixed",
            transform=f"{SHAPES}:loops",
            transform_timeout_seconds=0.5,
            **quick,
        )
        + forward("picky", sink.url("/picky"), source="mixed", transform=f"{SHAPES}:declines")
        + WORKER,
    )
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    return gateway, config


def test_transformations_reshape_fail_time_out_and_decline(transformed, redis_url, sink: Sink) -> None:
    gateway, config = transformed
    client = redis.Redis.from_url(redis_url)
    stuck_first = [
        post(gateway.url, "mixed", b"mixed-secret", json.dumps(STRIPE_INVOICE | {"n": n}).encode())
        for n in range(9)
    ]
    event_id = stuck_first[-1]
    # Eight threads, nine events whose "stuck" delivery loops: only a freed thread lets all of them settle.
    ledger = Ledger(client)
    final = {"processed", "dead", "filtered"}
    wait_for(
        lambda: all(
            set(ledger.states(e).values()) <= final and len(ledger.states(e)) == 4 for e in stuck_first
        ),
        60,
        "every delivery settled",
    )

    [slack] = [r for r in sink.to("/slack") if r.header("X-Hookgate-Event-Id") == event_id]
    assert json.loads(slack.body) == {"text": "Invoice in_1 paid: 1,234.56 EUR"}
    assert slack.header("Stripe-Signature") is None
    assert not sink.to("/buggy") and not sink.to("/stuck") and not sink.to("/picky")
    states = Ledger(client).states(event_id)
    assert states == {"slack": "processed", "buggy": "dead", "stuck": "dead", "picky": "filtered"}
    attempts = Ledger(client).attempts(event_id)
    buggy = [a for a in attempts if a["consumer"] == "buggy" and a["outcome"] == "failed"]
    assert buggy and "raised KeyError" in buggy[0]["error"] and "shapes.py" in buggy[0]["traceback"]
    stuck = [a for a in attempts if a["consumer"] == "stuck" and a["outcome"] == "failed"]
    assert stuck and "ran past its 0.5 s limit" in stuck[0]["error"], stuck
    picky = [a for a in attempts if a["consumer"] == "picky" and a["outcome"] == "filtered"]
    assert picky and "returned None" in picky[0]["error"]
    # Failures group into issues; the declined delivery is no failure.
    issues = json.loads(cli("issues", "list", "--json", "--config", str(config), redis_url=redis_url).stdout)
    assert {i["consumer"] for i in issues} == {"buggy", "stuck"}

    # route test: the same verdicts, nothing sent.
    before = len(sink.received)
    tested = cli("route", "test", "--event", event_id, "--json", "--config", str(config), redis_url=redis_url)
    assert tested.returncode == 0, tested.stderr
    verdicts = {v["consumer"]: v for v in json.loads(tested.stdout)}
    assert verdicts["slack"]["outcome"] == "delivered"
    assert verdicts["slack"]["request"]["url"].endswith("/slack")
    assert verdicts["picky"]["outcome"] == "filtered"
    assert verdicts["buggy"]["outcome"] == "error" and "KeyError" in verdicts["buggy"]["reason"]
    assert verdicts["stuck"]["outcome"] == "error" and "limit" in verdicts["stuck"]["reason"]
    assert len(sink.received) == before
