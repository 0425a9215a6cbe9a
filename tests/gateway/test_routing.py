"""Filters and transformations in the worker, over fakeredis (with Lua): a declined event is recorded
``filtered`` for that consumer and never enters its lane; every consumer declining settles the event as
``filtered``; a replay may ignore filters; a transformation's result is what a forward sends, under its
time limit; ``route test`` says all of it without sending anything."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import fakeredis
import pytest
from pydantic import ValidationError

import consumers
import signatures
from consumers import ConsumerConfigError, Declined, Event
from gateway.config import Settings
from gateway.operate.routing import RouteTable
from gateway.store import keys
from gateway.store.events import EventStore
from gateway.store.lanes import LaneConfig, Lanes
from gateway.store.ledger import Ledger
from gateway.worker.actors import declare_actors
from gateway.worker.broker import build_broker
from gateway.worker.forward import Forwarder
from gateway.worker.routing import Filters
from gateway.worker.transforms import Outgoing, Transformation, TransformFailed

PUSH_MAIN = {"ref": "refs/heads/main", "repository": {"full_name": "acme/api"}}
PUSH_DEV = {"ref": "refs/heads/dev", "repository": {"full_name": "acme/api"}}
MAIN_ONLY = {"body": {"ref": "refs/heads/main"}}


@pytest.fixture
def client():
    return fakeredis.FakeRedis()


@pytest.fixture
def broker(client):
    broker = build_broker(Settings.model_validate({"worker": {"outcome_retry_seconds": 0.2}}), client)
    for queue in (keys.DELIVER_QUEUE, keys.DISPATCH_QUEUE):
        broker.declare_queue(queue)
    yield broker
    _declared.pop(id(broker), None)
    broker.close()


def store(client, event_id: str, body: dict[str, Any], headers: list[list[str]] | None = None) -> None:
    client.hset(
        keys.event(event_id),
        mapping={
            "source": "github",
            "event_type": "push",
            "delivery_id": "",
            "received_at": time.time(),
            "status": "queued",
            "body": json.dumps(body),
            "headers": json.dumps(headers or [["X-GitHub-Event", "push"]]),
        },
    )
    client.expire(keys.event(event_id), 3600)


def registry_of(*specs: tuple[str, dict[str, Any] | None], handler: Any = None) -> consumers.Registry:
    registry = consumers.Registry()
    for name, spec in specs:
        registry.add(consumers.Consumer(name, "github", (), handler or (lambda event: None), filter=spec))
    return registry


_declared: dict[int, Any] = {}


def dispatch(client, broker, registry, event_id: str = "evt_1", **kwargs: Any) -> None:
    """Run dispatch as a worker thread would, its outcome written with the message's ack (the actors are
    declared on ``broker`` once, with the first ``registry``)."""
    actors = _declared.get(id(broker))
    if actors is None:
        actors = _declared[id(broker)] = declare_actors(
            broker, EventStore(client, 86400), registry, Ledger(client), broker
        )
    broker.enqueue(actors.dispatch.message_with_options(args=(event_id, "github", "push"), kwargs=kwargs))
    consumer = broker.consume(keys.DISPATCH_QUEUE, prefetch=1, timeout=10)
    message = next(m for m in iter(lambda: next(consumer), object()) if m is not None)
    broker.emit_before("process_message", message)
    actors.dispatch(*message.args, **message.kwargs)
    broker.emit_after("process_message", message, result=None)
    consumer.ack(message)


def queued_to(client) -> list[str]:
    """The consumers a deliver message was queued (or held) for."""
    names = []
    for raw in client.hvals(keys.dramatiq_messages(keys.DELIVER_QUEUE)):
        names.append(json.loads(raw)["args"][1])
    for lane in ("main", "all", "dev"):
        names += [lane] * client.zcard(keys.lane_held(lane))
    return sorted(names)


def test_a_declined_consumer_is_filtered_and_the_others_are_queued(client, broker):
    store(client, "evt_1", PUSH_DEV)
    registry = registry_of(
        ("main", MAIN_ONLY), ("all", None), ("dev", {"body": {"ref": {"$endsWith": "/dev"}}})
    )
    dispatch(client, broker, registry)
    assert Ledger(client).states("evt_1") == {"main": "filtered", "all": "queued", "dev": "queued"}
    assert queued_to(client) == ["all", "dev"]
    [record] = [a for a in Ledger(client).attempts("evt_1") if a["outcome"] == "filtered"]
    assert record["consumer"] == "main" and "refs/heads/dev" in record["error"], record
    assert client.hget(keys.event("evt_1"), "status") == b"queued"


def test_an_event_every_consumer_declines_settles_as_filtered_and_enters_no_lane(client, broker):
    store(client, "evt_1", PUSH_DEV)
    Lanes(client).announce({"main": LaneConfig(max_in_flight=2)})
    Lanes(client).pause("main")  # a paused lane would hold anything that entered it
    dispatch(client, broker, registry_of(("main", MAIN_ONLY)))
    assert Ledger(client).states("evt_1") == {"main": "filtered"}
    assert client.hget(keys.event("evt_1"), "status") == b"filtered"
    assert client.zscore(keys.UNSETTLED, "evt_1") is None, "filtered is settled"
    assert Lanes(client).status("main").held == 0
    assert queued_to(client) == []
    assert client.zcard(keys.DLQ_INDEX) == 0 and not client.smembers(keys.OPEN_ISSUES)


def test_one_consumer_with_a_matching_filter_runs_inline(client, broker):
    store(client, "evt_1", PUSH_MAIN)
    seen: list[str] = []
    dispatch(client, broker, registry_of(("main", MAIN_ONLY), handler=lambda event: seen.append(event.id)))
    assert seen == ["evt_1"]
    assert Ledger(client).states("evt_1") == {"main": "processed"}


def test_one_consumer_checks_its_filter_on_what_its_start_read_and_takes_the_start_back(client, broker):
    store(client, "evt_1", PUSH_DEV)
    Lanes(client).announce({"main": LaneConfig(max_in_flight=2)})
    seen: list[str] = []
    dispatch(client, broker, registry_of(("main", MAIN_ONLY), handler=lambda event: seen.append(event.id)))
    assert seen == []
    assert Ledger(client).states("evt_1") == {"main": "filtered"}
    assert [a["outcome"] for a in Ledger(client).attempts("evt_1")] == ["filtered"], "no attempt made"
    assert client.hget(keys.event("evt_1"), "status") == b"filtered"
    assert Lanes(client).status("main").in_flight == 0
    assert queued_to(client) == []


def test_one_consumer_on_a_paused_lane_is_held_only_when_its_filter_wants_the_event(client, broker):
    store(client, "evt_1", PUSH_DEV)
    store(client, "evt_2", PUSH_MAIN)
    Lanes(client).announce({"main": LaneConfig(max_in_flight=2)})
    Lanes(client).pause("main")
    registry = registry_of(("main", MAIN_ONLY))
    dispatch(client, broker, registry, "evt_1")
    dispatch(client, broker, registry, "evt_2")
    assert Ledger(client).states("evt_1") == {"main": "filtered"}
    assert Ledger(client).states("evt_2") == {"main": "queued"}
    assert Lanes(client).status("main").held == 1
    assert [a["outcome"] for a in Ledger(client).attempts("evt_2")] == [], "held, not attempted"


class CountingStore(EventStore):
    def __init__(self, client: Any) -> None:
        super().__init__(client, 86400)
        self.reads: list[list[str]] = []

    def filter_request(self, event_id: str) -> Any:
        self.reads.append([event_id])
        return super().filter_request(event_id)

    def filter_requests(self, event_ids: Any) -> Any:
        self.reads.append(list(event_ids))
        return super().filter_requests(event_ids)


def test_a_fetch_of_dispatch_messages_reads_their_events_at_once_for_the_filters(client, broker):
    events = CountingStore(client)
    registry = registry_of(("main", MAIN_ONLY), ("all", None))
    actors = declare_actors(broker, events, registry, Ledger(client), broker)
    for n, body in enumerate([PUSH_MAIN, PUSH_DEV, PUSH_MAIN], start=1):
        store(client, f"evt_{n}", body)
        broker.enqueue(actors.dispatch.message(f"evt_{n}", "github", "push"))
    consumer = broker.consume(keys.DISPATCH_QUEUE, prefetch=3, timeout=10)
    for _ in range(3):
        message = next(m for m in iter(lambda: next(consumer), object()) if m is not None)
        broker.emit_before("process_message", message)
        actors.dispatch(*message.args, **message.kwargs)
        broker.emit_after("process_message", message, result=None)
        consumer.ack(message)
    assert events.reads == [["evt_1", "evt_2", "evt_3"]], "one read for the fetch, none per event"
    assert Ledger(client).states("evt_2") == {"main": "filtered", "all": "processed"}, "the one left, inline"
    assert Ledger(client).states("evt_3") == {"main": "queued", "all": "queued"}


def test_a_replay_may_ignore_filters(client, broker):
    store(client, "evt_1", PUSH_DEV)
    seen: list[str] = []
    registry = registry_of(("main", MAIN_ONLY), handler=lambda event: seen.append(event.id))
    dispatch(client, broker, registry)
    assert seen == []
    dispatch(client, broker, registry, ignore_filters=True)
    assert seen == ["evt_1"]
    assert Ledger(client).states("evt_1") == {"main": "processed"}
    assert client.hget(keys.event("evt_1"), "status") == b"processed"


def test_headers_and_query_are_filtered_on_as_stored(client, broker):
    store(client, "evt_1", PUSH_MAIN, headers=[["X-GitHub-Event", "push"]])
    client.hset(keys.event("evt_1"), "query", "tenant=acme&env=prod")
    registry = registry_of(
        ("by-header", {"headers": {"x-github-event": "push"}}),
        ("by-query", {"query": {"tenant": "other"}}),
    )
    dispatch(client, broker, registry)
    assert Ledger(client).states("evt_1") == {"by-header": "processed", "by-query": "filtered"}


def test_a_handler_that_declines_is_filtered_not_failed(client, broker):
    store(client, "evt_1", PUSH_MAIN)

    def declines(event: Event) -> None:
        raise Declined("not for us")

    dispatch(client, broker, registry_of(("main", None), handler=declines))
    assert Ledger(client).states("evt_1") == {"main": "filtered"}
    assert client.zcard(keys.WAITING) == 0, "no retry"
    assert [a["outcome"] for a in Ledger(client).attempts("evt_1")] == ["started", "filtered"]


def test_a_bad_consumer_filter_is_a_configuration_error_naming_it():
    with pytest.raises(ConsumerConfigError, match=r"consumer 'main': filter\.body\.ref"):
        Filters(registry_of(("main", {"body": {"ref": {"$nope": 1}}})))


def test_a_bad_forward_filter_or_transform_stops_the_config_naming_the_key():
    base = {"sources": {"github": {"provider": "github", "secret": "s"}}}
    forward = {"name": "f", "source": "github", "url": "http://127.0.0.1:1/"}
    with pytest.raises(ValidationError, match=r"filter[\s\S]*\$nope"):
        Settings.model_validate({**base, "forward": [{**forward, "filter": {"body": {"a": {"$nope": 1}}}}]})
    with pytest.raises(ValidationError, match="module:function"):
        Settings.model_validate({**base, "forward": [{**forward, "transform": "no colon"}]})


# Transformations


def event(body: bytes = b'{"type": "invoice.paid", "data": {"object": {"amount_paid": 1500}}}') -> Event:
    return Event("evt_1", "stripe", "invoice.paid", "d1", time.time(), body, [("Stripe-Signature", "t=1")])


def test_a_transformation_that_loops_is_stopped_and_its_thread_freed():
    def loops(event: Event) -> None:
        while True:
            pass

    transform = Transformation(loops, name="shapes:loops", timeout_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(TransformFailed, match=r"shapes:loops ran past its 0.2 s limit"):
        transform(event())
    assert time.monotonic() - started < 2
    time.sleep(0.3)  # a timer that fired late would raise here, in the test's own thread


def test_a_transformation_that_returns_in_time_is_not_interrupted_later():
    transform = Transformation(lambda e: {"body": "x"}, name="t:f", timeout_seconds=0.05)
    for _ in range(50):
        assert transform(event()) == Outgoing(b"x")
    time.sleep(0.1)


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (42, "returned int"),
        ({"body": 1}, "body of type int"),
        ({"body": "x", "colour": 1}, "unknown keys: colour"),
        ({"body": "x", "path": "no-slash"}, "path"),
        ({"body": "x", "method": "BREW"}, "method 'BREW'"),
        ({"body": "x", "headers": {"a": 1}}, "headers"),
    ],
)
def test_a_transformation_that_returns_what_cannot_be_sent_fails(returned, message):
    with pytest.raises(TransformFailed, match=message):
        Transformation(lambda e: returned, name="t:f", timeout_seconds=1)(event())


class _Target(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.received.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = _record

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def target():
    _Target.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/stripe"
    server.shutdown()
    server.server_close()


def to_slack(event: Event) -> dict[str, Any]:
    invoice = event.json()["data"]["object"]
    text = f"Invoice paid: {invoice['amount_paid'] / 100:.2f}"
    return {
        "body": json.dumps({"text": text}),
        "headers": {"Content-Type": "application/json"},
        "path": "/slack",
    }


def test_a_forward_sends_what_its_transformation_returns_and_signs_that(target):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    transform = Transformation(to_slack, name="shapes:to_slack", timeout_seconds=1)
    with Forwarder(target, sign_secret=secret, transform=transform) as forwarder:
        forwarder(event())
    [(method, path, headers, body)] = _Target.received
    assert (method, path) == ("POST", "/slack")
    assert json.loads(body) == {"text": "Invoice paid: 15.00"}
    assert "stripe-signature" not in headers, "its headers replace the original ones"
    assert headers["idempotency-key"] == "evt_1:"
    verifier = signatures.build("standard-webhooks", [secret])
    verifier.verify(signatures.Delivery(body, headers))  # signed over what was sent


def test_a_forward_whose_transformation_returns_none_declines(target):
    transform = Transformation(lambda e: None, name="shapes:never", timeout_seconds=1)
    with Forwarder(target, transform=transform) as forwarder, pytest.raises(Declined, match="shapes:never"):
        forwarder(event())
    assert _Target.received == []


def test_a_transformation_may_change_the_method(target):
    transform = Transformation(lambda e: {"body": b"{}", "method": "put"}, name="t:put", timeout_seconds=1)
    with Forwarder(target, transform=transform) as forwarder:
        forwarder(event())
    assert [(m, p) for m, p, _, _ in _Target.received] == [("PUT", "/hooks/stripe")]


# route test


def test_route_test_tells_each_consumers_verdict_and_what_a_forward_would_send(target):
    registry = consumers.Registry()
    transform = Transformation(to_slack, name="shapes:to_slack", timeout_seconds=1)
    forwarder = Forwarder(target, headers={"Authorization": "Bearer secret-token"}, transform=transform)
    big = {"body": {"data": {"object": {"amount_paid": {"$gte": 1000}}}}}
    small = {"body": {"data": {"object": {"amount_paid": {"$lt": 1000}}}}}
    registry.add(consumers.Consumer("slack", "stripe", (), forwarder, filter=big))
    registry.add(consumers.Consumer("small", "stripe", (), lambda e: None, filter=small))
    registry.add(consumers.Consumer("ci", "github", (), lambda e: None))
    verdicts = {v.consumer: v for v in RouteTable(registry).check_given("stripe", event().body, ["X-A: 1"])}
    assert verdicts["ci"].outcome == "not routed"
    assert verdicts["small"].outcome == "filtered" and "1500" in (verdicts["small"].reason or "")
    slack = verdicts["slack"]
    assert slack.outcome == "delivered" and slack.request is not None
    assert slack.request.url.endswith("/slack") and json.loads(slack.request.body or "") == {
        "text": "Invoice paid: 15.00"
    }
    assert ("Authorization", "[redacted]") in slack.request.headers, "a configured header's value is a secret"
    assert _Target.received == [], "nothing is sent"
    forwarder.close()
