"""Ordered delivery per key, over fakeredis (with Lua): events are stored by the gateway's own ingest
script, dispatched and delivered as a worker runs messages (Dramatiq's middleware, the ack with the
outcome). Same-key deliveries start one at a time in stored order, whatever order dispatch ran in; other
keys go on; a failing delivery holds only its key, through its retries and (``on_dead = "hold"``) its
dead letter, until an operator retries or discards it; the watermark waits for earlier events'
dispatches, never for an expired one. Then the config errors, and what operators see."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import fakeredis
import pytest
from pydantic import ValidationError

import consumers
from consumers import ConsumerConfigError, Event
from gateway.config import RetentionSettings, Settings
from gateway.operate import Context, destinations
from gateway.store import keys, scripts
from gateway.store.dlq import DeadLetters, entry_id
from gateway.store.events import EventStore
from gateway.store.ingest import script_constants
from gateway.store.lanes import LaneConfig, Lanes
from gateway.store.ledger import Ledger
from gateway.worker.actors import declare_actors
from gateway.worker.broker import build_broker
from gateway.worker.housekeeping import Promoter
from gateway.worker.lanes import lane_configs
from gateway.worker.ordering import Orderings
from gateway.worker.reconciler import Reconciler

ORDERING = "body:data.object.customer"


class Stack:
    """A source ``stripe``, an ordered consumer ``billing`` of ``invoice.*`` (its handler fails while
    ``failing`` says so), an unordered ``audit`` of ``audit.*``; messages run one at a time. With
    ``fan_out``, an unordered ``ledger`` wants ``invoice.*`` too, so dispatch fans out a deliver message
    to ``billing``; without, ``billing``'s first attempt runs inside dispatch when it can take its key."""

    def __init__(
        self, *, on_dead: str = "hold", max_retries: int = 2, client: Any = None, fan_out: bool = True
    ) -> None:
        self.client = client if client is not None else fakeredis.FakeRedis()
        settings = Settings.model_validate({"worker": {"outcome_retry_seconds": 0.2}})
        self.broker = build_broker(settings, self.client)
        for queue in (keys.DELIVER_QUEUE, keys.DISPATCH_QUEUE):
            self.broker.declare_queue(queue)
        self.handled: list[str] = []
        self.failing: dict[str, int] = {}  # event id -> failures still to come (-1: always)
        registry = consumers.Registry()
        registry.add(
            consumers.Consumer("billing", "stripe", ("invoice.*",), self._billing, max_retries, 1, 1)
        )
        registry.add(consumers.Consumer("audit", "stripe", ("audit.*",), lambda event: None))
        if fan_out:
            registry.add(consumers.Consumer("ledger", "stripe", ("invoice.*",), lambda event: None))
        Lanes(self.client).announce(
            {
                "billing": LaneConfig(max_in_flight=8, ordering=ORDERING, on_dead=on_dead, source="stripe"),
                "audit": LaneConfig(max_in_flight=8, source="stripe"),
                "ledger": LaneConfig(max_in_flight=8, source="stripe"),
            }
        )
        self.ledger = Ledger(self.client)
        self.actors = declare_actors(
            self.broker,
            EventStore(self.client, 86400),
            registry,
            self.ledger,
            self.broker,
            Orderings({"billing": ORDERING}),
        )
        self.registry = registry
        self._ingest = scripts.register(self.client, "ingest", **script_constants(RetentionSettings()))
        self._consumers = {q: self.broker.consume(q, prefetch=1, timeout=10) for q in self.broker.queues}
        self.customers: dict[str, str | None] = {}

    def close(self) -> None:
        self.broker.close()

    def _billing(self, event: Event) -> None:
        left = self.failing.get(event.id, 0)
        if left:
            self.failing[event.id] = left - 1 if left > 0 else -1
            raise RuntimeError(f"billing is down for {event.id}")
        self.handled.append(event.id)

    # The gateway's side

    def store(self, customer: str | None, event_type: str = "invoice.paid") -> str:
        """An event of ``customer`` (None: no customer in it), stored as the gateway stores one."""
        event_id = f"evt_{uuid.uuid4().hex[:12]}"
        obj: dict[str, Any] = {"id": f"in_{len(self.customers)}"}
        if customer is not None:
            obj["customer"] = customer
        body = json.dumps({"type": event_type, "data": {"object": obj}}).encode()
        args = [event_id, repr(time.time()), "stripe", "", event_type, "[]", body, "none", ""]
        self._ingest(keys=[keys.NO_DEDUPE, keys.event(event_id), keys.source_index("stripe")], args=args)
        self.customers[event_id] = customer
        return event_id

    # A worker's side

    def dispatch(self, event_id: str, **kwargs: Any) -> None:
        """Enqueue ``event_id``'s dispatch ahead of the one the gateway queued, and run it."""
        event_type = self.client.hget(keys.event(event_id), "event_type").decode()
        message = self.actors.dispatch.message_with_options(
            args=(event_id, "stripe", event_type), kwargs=kwargs
        )
        message = message.copy(options={"redis_message_id": str(uuid.uuid4())})
        self.client.hset(
            keys.dramatiq_messages(keys.DISPATCH_QUEUE), message.options["redis_message_id"], message.encode()
        )
        self.client.lpush(keys.dramatiq_queue(keys.DISPATCH_QUEUE), message.options["redis_message_id"])
        assert self.run(keys.DISPATCH_QUEUE) == event_id

    def queued(self) -> list[str]:
        """The events whose ``billing`` delivery is in the deliver queue, in queue order."""
        ids = self.client.lrange(keys.dramatiq_queue(keys.DELIVER_QUEUE), 0, -1)
        messages = self.client.hmget(keys.dramatiq_messages(keys.DELIVER_QUEUE), ids) if ids else []
        found = [json.loads(m)["args"] for m in messages if m]
        return [event_id for event_id, consumer in found if consumer == "billing"]

    def run_billing(self) -> str:
        """Run deliver messages until one of ``billing``'s has run; its event id."""
        while self.queued():
            event_id = self.run()
            if self.last_consumer == "billing" and event_id is not None:
                return event_id
        raise AssertionError("no delivery of billing was queued")

    def run(self, queue: str = keys.DELIVER_QUEUE) -> str | None:
        """Run the next message of ``queue`` as a worker thread does; its event id (None: nothing)."""
        consumer = self._consumers[queue]
        message = next((m for m in (next(consumer) for _ in range(3)) if m is not None), None)
        if message is None:
            return None
        self.last_consumer = str(message.args[1]) if queue == keys.DELIVER_QUEUE else "dispatch"
        actor = self.actors.dispatch if queue == keys.DISPATCH_QUEUE else self.actors.deliver
        self.broker.emit_before("process_message", message)
        try:
            actor(*message.args, **message.kwargs)
        except Exception as exc:
            self.broker.emit_after("process_message", message, exception=exc)
        else:
            self.broker.emit_after("process_message", message, result=None)
        if message.failed:
            self.broker.emit_before("nack", message)
            consumer.nack(message)
        else:
            consumer.ack(message)
        return str(message.args[0])

    def promote(self) -> None:
        """Retries due (their backoff is 1 ms) and the lanes' and keys' next look, as a worker's tick."""
        Promoter(self.client, 1).promote(int(time.time() * 1000) + 10_000)

    def drain(self, limit: int = 200) -> None:
        """Run deliveries (and their retries) until nothing is left to run."""
        for _ in range(limit):
            if self.run() is None:
                self.promote()
                if not self.client.llen(keys.dramatiq_queue(keys.DELIVER_QUEUE)):
                    return
        raise AssertionError("deliveries did not drain")

    # What it shows

    def state(self, event_id: str) -> str | None:
        return self.ledger.states(event_id).get("billing")

    def blocked(self) -> dict[str, str]:
        return {b.key: b.event_id for b in Lanes(self.client).blocked("billing")}


@pytest.fixture
def stack():
    built = Stack()
    yield built
    built.close()


def per_key(stack: Stack, events: list[str]) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for event_id in events:
        found.setdefault(stack.customers[event_id], []).append(event_id)
    return found


def test_same_key_deliveries_start_one_at_a_time_in_stored_order_even_when_dispatched_out_of_order(stack):
    a = [stack.store("cus_a") for _ in range(3)]
    b = [stack.store("cus_b") for _ in range(2)]
    for event_id in [a[2], b[1], a[1], b[0], a[0]]:  # parallel dispatchers finish in any order
        stack.dispatch(event_id)
    # One delivery per key at a time: the oldest of each, both at once.
    assert sorted(stack.queued()) == sorted([a[0], b[0]])
    assert Lanes(stack.client).status("billing").parked == 3
    while stack.queued():
        assert (
            len([e for e in stack.queued() if e in a]) <= 1
            and len([e for e in stack.queued() if e in b]) <= 1
        )
        stack.run_billing()
    assert per_key(stack, stack.handled) == {"cus_a": a, "cus_b": b}
    assert {stack.state(e) for e in a + b} == {"processed"}
    assert not stack.client.exists(keys.ordering_keys("billing"), keys.ordering_holders("billing"))
    assert not stack.client.hlen(keys.HELD_MESSAGES), "nothing parked is left behind"


def test_a_single_ordered_consumer_takes_a_free_key_inside_dispatch_and_else_waits_its_turn():
    stack = Stack(fan_out=False)
    try:
        a1, a2, b1, a3 = (
            stack.store("cus_a"),
            stack.store("cus_a"),
            stack.store("cus_b"),
            stack.store("cus_a"),
        )
        stack.failing[a1] = 1
        stack.dispatch(a2)  # a1, stored before it, is not dispatched yet: a2 waits, no attempt made
        assert stack.handled == [] and stack.state(a2) == "queued" and stack.queued() == []
        stack.dispatch(a1)  # its key is free and nothing waits ahead: it runs inside dispatch, and fails
        assert stack.state(a1) == "retrying" and stack.blocked() == {"cus_a": a1}
        stack.dispatch(b1)  # another key: inside dispatch at once, no deliver message
        assert stack.handled == [b1] and stack.queued() == []
        stack.dispatch(a3)  # its key is held: handed over to wait
        assert stack.state(a3) == "queued" and stack.queued() == []
        stack.drain()
        assert stack.handled == [b1, a1, a2, a3]
        assert [a["outcome"] for a in stack.ledger.attempts(b1)] == ["started", "succeeded"]
    finally:
        stack.close()


def test_an_earlier_undispatched_event_holds_later_deliveries_until_it_is_dispatched(stack):
    first = stack.store("cus_a")
    other = stack.store("cus_b")  # another key, stored in between: it holds the watermark too
    second = stack.store("cus_a")
    stack.dispatch(second)
    assert stack.queued() == [], "the first event of its key may still join ahead of it"
    stack.dispatch(first)
    assert stack.queued() == [first]
    stack.run_billing()
    assert stack.queued() == [], "the event stored before it is not dispatched yet"
    stack.dispatch(other)
    assert sorted(stack.queued()) == sorted([other, second]), "the watermark moved at that dispatch"
    stack.drain()
    assert per_key(stack, stack.handled) == {"cus_a": [first, second], "cus_b": [other]}


def test_an_expired_undispatched_event_never_stalls_ordered_deliveries(stack):
    gone = stack.store("cus_a")
    later = stack.store("cus_b")
    parked = stack.store("cus_c")
    stack.dispatch(parked)
    assert stack.queued() == [], "waits for the two stored before it"
    stack.client.delete(keys.event(gone))  # expired (or purged) before its dispatch ran
    stack.dispatch(later)
    assert sorted(stack.queued()) == sorted([later, parked])
    # And one that expires while a delivery waits for it is seen at the next tick.
    held_back = stack.store("cus_d")
    waiting = stack.store("cus_d")
    stack.dispatch(waiting)
    assert waiting not in stack.queued()
    stack.client.delete(keys.event(held_back))
    stack.promote()
    assert waiting in stack.queued()


def test_a_key_whose_holder_expired_while_its_lane_held_it_is_freed_by_the_sweep(stack):
    lanes = Lanes(stack.client)
    lanes.pause("billing")
    first, second = stack.store("cus_a"), stack.store("cus_a")
    stack.dispatch(first)
    stack.dispatch(second)
    assert lanes.status("billing").held == 1 and lanes.status("billing").parked == 1
    stack.client.delete(keys.event(first))  # expired while the destination was paused
    stack.promote()  # the lane drops what it held for a gone event; the sweep frees its key
    assert stack.client.hget(keys.ordering_holders("billing"), "cus_a") == second.encode()
    lanes.resume("billing")
    stack.drain()
    assert stack.handled == [second]


def test_an_event_with_no_value_for_the_key_is_not_ordered(stack):
    loose = [stack.store(None) for _ in range(3)]
    for event_id in reversed(loose):
        stack.dispatch(event_id)
    assert sorted(stack.queued()) == sorted(loose), "all at once"
    stack.drain()
    assert sorted(stack.handled) == sorted(loose)
    assert not stack.client.hlen(keys.ordering_keys("billing"))


def test_an_unordered_consumer_of_the_same_source_runs_inline_and_does_not_hold_the_watermark(stack):
    audited = stack.store(None, "audit.logged")
    ordered = stack.store("cus_a")
    stack.dispatch(ordered)
    assert stack.queued() == [], "waits for the audit event stored before it"
    stack.dispatch(audited)  # one unordered consumer: its first attempt runs inside dispatch
    assert Ledger(stack.client).states(audited) == {"audit": "processed"}
    assert stack.queued() == [ordered]


def test_a_failing_delivery_holds_its_key_through_its_retries_and_only_its_key(stack):
    a1, b1, a2 = stack.store("cus_a"), stack.store("cus_b"), stack.store("cus_a")
    stack.failing[a1] = 2  # two failures, then a success (max_retries = 2)
    for event_id in (a1, b1, a2):
        stack.dispatch(event_id)
    stack.run_billing()  # a1 fails
    assert stack.state(a1) == "retrying"
    assert stack.blocked() == {"cus_a": a1}
    [blocked] = Lanes(stack.client).blocked("billing")
    assert (blocked.state, blocked.waiting) == ("retrying", 1)
    assert stack.queued() == [b1], "the other key goes on"
    stack.run_billing()
    assert stack.handled == [b1]
    stack.promote()
    stack.run_billing()  # a1's retry fails again; a2 still waits
    assert stack.queued() == [] and stack.state(a2) == "queued"
    stack.drain()
    assert stack.handled == [b1, a1, a2]
    assert stack.blocked() == {}


@pytest.mark.parametrize("on_dead", ["hold", "skip"])
def test_a_dead_letter_blocks_its_key_or_not_as_on_dead_says(on_dead):
    stack = Stack(on_dead=on_dead, max_retries=0)
    try:
        a1, a2, b1 = stack.store("cus_a"), stack.store("cus_a"), stack.store("cus_b")
        stack.failing[a1] = -1
        for event_id in (a1, a2, b1):
            stack.dispatch(event_id)
        stack.drain()
        assert stack.state(a1) == "dead"
        if on_dead == "hold":
            assert stack.handled == [b1]
            assert stack.blocked() == {"cus_a": a1}
            assert stack.state(a2) == "queued"
            status = destinations.show(Context.build(stack.client, Settings.model_validate({})), "billing")
            assert status["blocked_keys"] == 1 and status["on_dead"] == "hold"
            assert [(b["key"], b["event_id"], b["state"]) for b in status["blocked"]] == [
                ("cus_a", a1, "dead")
            ]
        else:
            assert sorted(stack.handled) == sorted([b1, a2])
            assert stack.blocked() == {}
    finally:
        stack.close()


@pytest.mark.parametrize("action", ["retry", "discard"])
def test_retrying_or_discarding_the_dead_letter_releases_its_key_and_the_held_ones_follow_in_order(action):
    stack = Stack(max_retries=0)
    try:
        a = [stack.store("cus_a") for _ in range(3)]
        stack.failing[a[0]] = 1
        for event_id in a:
            stack.dispatch(event_id)
        stack.drain()
        assert stack.handled == [] and stack.blocked() == {"cus_a": a[0]}
        letters = DeadLetters(stack.client, stack.ledger, lambda e, c: stack.actors.resend(e, c))
        if action == "retry":
            assert letters.retry(entry_id(a[0], "billing"))
            assert stack.queued() == [a[0]], "the dead letter goes first: it still holds its key"
            stack.drain()
            assert stack.handled == a
        else:
            assert letters.discard(entry_id(a[0], "billing"))
            stack.drain()
            assert stack.handled == a[1:]
        assert stack.blocked() == {}
    finally:
        stack.close()


def test_a_replayed_event_takes_its_place_by_its_original_time(stack):
    a = [stack.store("cus_a") for _ in range(3)]
    stack.dispatch(a[0])
    stack.run_billing()
    stack.dispatch(a[1])
    stack.dispatch(a[2])
    assert stack.queued() == [a[1]]  # a[1] holds the key, a[2] waits
    stack.dispatch(a[0], replay=1)  # a forced replay of the first
    assert stack.queued() == [a[1]]
    stack.drain()
    assert stack.handled == [a[0], a[1], a[0], a[2]], "the replay went before the later event"


def test_events_replayed_by_id_oldest_first_arrive_in_that_order_however_dispatch_runs(stack):
    a1, a2 = stack.store("cus_a"), stack.store("cus_a")
    for event_id in (a1, a2):
        stack.dispatch(event_id)
    stack.drain()
    for event_id in (a1, a2):  # as `hookgate replay a1 a2 --force` sends them
        stack.actors.replay(event_id, "stripe", "invoice.paid", 1)
    queue = keys.dramatiq_queue(keys.DISPATCH_QUEUE)
    sent = stack.client.lrange(queue, 0, -1)
    stack.client.delete(queue)
    stack.client.rpush(queue, *reversed(sent))  # a2's dispatch runs first
    assert stack.run(keys.DISPATCH_QUEUE) == a2
    assert stack.queued() == [], "a1's replay, sent before it, is not dispatched yet"
    assert stack.run(keys.DISPATCH_QUEUE) == a1
    stack.drain()
    assert stack.handled == [a1, a2, a1, a2]


def test_parked_deliveries_are_somewhere_for_the_reconciler(stack):
    a1, a2 = stack.store("cus_a"), stack.store("cus_a")
    stack.dispatch(a1)
    stack.dispatch(a2)
    reconciler = Reconciler(
        stack.client, stack.actors, stack.registry, after_seconds=1, clock=lambda: time.time() + 60
    )
    assert reconciler.run() == 0, "the parked delivery and the queued one are both somewhere"
    stack.drain()
    assert stack.handled == [a1, a2]


def test_a_consumer_no_longer_ordered_lets_what_it_parked_go_on(stack):
    a = [stack.store("cus_a") for _ in range(3)]
    for event_id in a:
        stack.dispatch(event_id)
    assert stack.queued() == [a[0]]
    Lanes(stack.client).announce({"billing": LaneConfig(max_in_flight=8, source="stripe")})
    assert sorted(stack.queued()) == sorted(a)
    assert not stack.client.exists(keys.ordering_keys("billing"), keys.ordering_parked("billing"))


# Configuration


def config(**forward: Any) -> dict[str, Any]:
    return {
        "sources": {"stripe": {"provider": "stripe", "secret": "whsec_x"}},
        "forward": [{"name": "billing", "source": "stripe", "url": "http://127.0.0.1:1/", **forward}],
    }


def test_ordering_and_on_dead_are_checked_at_load_naming_the_key():
    with pytest.raises(ValidationError, match=r"forward\.0\.ordering[\s\S]*not an ordering key"):
        Settings.model_validate(config(ordering="customer"))
    with pytest.raises(ValidationError, match=r"forward\.0\.ordering[\s\S]*empty segment"):
        Settings.model_validate(config(ordering="body:data..customer"))
    with pytest.raises(ValidationError, match=r"forward\.0\.on_dead"):
        Settings.model_validate(config(ordering="stripe:customer", on_dead="drop"))
    with pytest.raises(ValidationError, match=r"destinations\.billing\.ordering"):
        Settings.model_validate({**config(), "destinations": {"billing": {"ordering": "query:x"}}})


def registry_with(lane: dict[str, Any]) -> consumers.Registry:
    registry = consumers.Registry()
    registry.add(consumers.Consumer("myapp.bill", "stripe", (), lambda event: None, lane=lane))
    return registry


def test_a_bad_consumer_ordering_is_a_configuration_error_naming_the_consumer_and_key():
    settings = Settings.model_validate({"sources": config()["sources"]})
    with pytest.raises(ConsumerConfigError, match=r"consumer 'myapp.bill': ordering: .*not an ordering key"):
        lane_configs(settings, registry_with({"ordering": "nope"}), threads=8)
    with pytest.raises(ConsumerConfigError, match=r"consumer 'myapp.bill': on_dead"):
        lane_configs(settings, registry_with({"ordering": "stripe:customer", "on_dead": "x"}), threads=8)


def test_ordering_resolves_per_consumer_like_the_other_lane_settings():
    settings = Settings.model_validate(
        {**config(ordering="stripe:customer"), "destinations": {"myapp.bill": {"on_dead": "skip"}}}
    )
    registry = registry_with({"ordering": "header:X-Account"})
    lanes = lane_configs(settings, registry, threads=8)
    assert (lanes["myapp.bill"].ordering, lanes["myapp.bill"].on_dead) == ("header:X-Account", "skip")
    assert lanes["myapp.bill"].source == "stripe"


@pytest.mark.parametrize(
    ("spec", "body", "headers", "key"),
    [
        ("stripe:customer", {"data": {"object": {"customer": "cus_1"}}}, [], "cus_1"),
        ("stripe:object", {"data": {"object": {"id": "sub_1"}}}, [], "sub_1"),
        ("github:repository", {"repository": {"id": 42}}, [], "42"),
        ("shopify:resource", {"id": 820982911946154508}, [], "820982911946154508"),
        ("header:X-Account", {}, [["x-account", "acct_9"]], "acct_9"),
        ("body:items.0.sku", {"items": [{"sku": "A"}]}, [], "A"),
        ("body:data.object.customer", {"data": {"object": {}}}, [], None),
        ("body:data.object", {"data": {"object": {"customer": "cus_1"}}}, [], None),
    ],
)
def test_the_key_is_found_in_the_stored_event(spec, body, headers, key):
    from gateway.store.events import request_of

    request = request_of(b"stripe", json.dumps(body).encode(), json.dumps(headers).encode(), b"")
    assert request is not None
    assert Orderings({"c": spec}).key("c", request) == key
    assert Orderings({"c": spec}).key("other", request) is None


def test_a_long_key_is_ordered_by_its_hash():
    from gateway.store.events import request_of

    request = request_of(b"s", json.dumps({"k": "x" * 500}).encode(), b"[]", b"")
    assert request is not None
    found = Orderings({"c": "body:k"}).key("c", request)
    assert found is not None and found.startswith("sha256:") and len(found) == 71


# What operators see

XSS = "cus_<img src=x onerror=alert(1)>"


def test_blocked_keys_are_shown_everywhere_an_operator_looks(redis_url, tmp_path):
    """``destinations show``, the API, the dashboard (escaped) and /metrics, over a real redis-server."""
    import redis
    from litestar.testing import TestClient

    from gateway.processes.app import create_app
    from tests.helpers import bearer, cli, log_in, settings_for, write_config

    stack = Stack(max_retries=0, client=redis.Redis.from_url(redis_url))
    try:
        first, second = stack.store(XSS), stack.store(XSS)
        stack.failing[first] = -1
        stack.dispatch(first)
        stack.dispatch(second)
        stack.drain()
    finally:
        stack.close()

    shown = cli(
        "destinations", "show", "billing", "--config", str(write_config(tmp_path, "")), redis_url=redis_url
    )
    assert shown.returncode == 0, shown.stderr
    assert f"ordering: {ORDERING}" in shown.stdout and "on_dead: hold" in shown.stdout
    assert f"blocked key {XSS!r}: held by {first} (dead)" in shown.stdout and "1 waiting" in shown.stdout

    settings = settings_for(redis_url)
    public = settings.model_copy(update={"admin": settings.admin.model_copy(update={"public_metrics": True})})
    with TestClient(create_app(public)) as client:
        detail = client.get("/api/v1/destinations/billing", headers=bearer("reader")).json()
        assert (detail["ordering"], detail["on_dead"], detail["blocked_keys"], detail["parked"]) == (
            ORDERING,
            "hold",
            1,
            1,
        )
        [blocked] = detail["blocked"]
        assert (blocked["key"], blocked["event_id"], blocked["state"], blocked["waiting"]) == (
            XSS,
            first,
            "dead",
            1,
        )
        listed = client.get("/api/v1/destinations", headers=bearer("reader")).json()["items"]
        assert {d["consumer"]: d["blocked_keys"] for d in listed} == {"billing": 1, "audit": 0, "ledger": 0}

        log_in(client, "reader")
        page = client.get("/dashboard/destinations").text
        assert f"ordered by {ORDERING}" in page and "1 blocked key" in page
        assert "cus_&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
        assert f'href="/dashboard/events/{first}"' in page

        metrics = client.get("/metrics").text
        assert 'hookgate_ordering_blocked_keys{consumer="billing"} 1.0' in metrics
        assert 'hookgate_ordering_blocked_keys{consumer="audit"}' not in metrics, "audit is not ordered"
