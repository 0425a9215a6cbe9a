"""The reconciler over fakeredis (with Lua): unsettled events whose messages are lost get them back,
once, and nothing else is touched."""

from __future__ import annotations

import json

import fakeredis
import pytest

import consumers
from gateway.config import Settings
from gateway.store import keys, scripts
from gateway.store.events import EventStore
from gateway.store.lease import Lease
from gateway.store.ledger import Ledger
from gateway.worker.actors import declare_actors
from gateway.worker.broker import build_broker
from gateway.worker.reconciler import Reconciler

T0 = 1_800_000_000.0
BOUND = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client():
    return fakeredis.FakeRedis()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def world(client, clock):
    broker = build_broker(Settings(), client)
    registry = consumers.Registry()
    for name in ("billing", "crm"):
        registry.add(consumers.Consumer(name, "github", (), lambda event: None, 3, None, None))
    ledger = Ledger(client)
    actors = declare_actors(broker, EventStore(client, 86400), registry, ledger, broker)
    reconciler = Reconciler(client, actors, registry, BOUND, clock=clock)
    yield reconciler, actors
    broker.close()


def ingested(client, event_id: str, at: float = T0) -> None:
    """What the gateway's ingest step leaves: the event, its dispatch message (id = event id), indexed."""
    client.hset(keys.event(event_id), mapping={"source": "github", "event_type": "push", "status": "queued"})
    client.expire(keys.event(event_id), 3600)
    message = {"queue_name": "dispatch", "actor_name": "dispatch", "args": [event_id, "github", "push"]}
    client.hset(keys.dramatiq_messages(keys.DISPATCH_QUEUE), event_id, json.dumps(message))
    client.rpush(keys.dramatiq_queue(keys.DISPATCH_QUEUE), event_id)
    client.zadd(keys.UNSETTLED, {event_id: at})


def lose(client, queue: str, message_id: str) -> None:
    """A message removed by hand (or by a bug)."""
    client.hdel(keys.dramatiq_messages(queue), message_id)
    client.lrem(keys.dramatiq_queue(queue), 0, message_id)
    client.zrem(keys.WAITING, message_id)
    client.hdel(keys.WAITING_MESSAGES, message_id)


def queued(client, queue: str) -> list[dict]:
    ids = client.lrange(keys.dramatiq_queue(queue), 0, -1)
    return [json.loads(client.hget(keys.dramatiq_messages(queue), m)) for m in ids]


def test_a_quiet_event_with_its_message_is_left_alone_and_looked_at_again_one_bound_later(
    client, clock, world
):
    reconciler, _ = world
    ingested(client, "evt_a")
    clock.now = T0 + BOUND - 1
    assert reconciler.run() == 0
    assert client.zscore(keys.UNSETTLED, "evt_a") == T0, "not looked at before the bound"
    clock.now = T0 + BOUND + 1
    assert reconciler.run() == 0
    assert client.zscore(keys.UNSETTLED, "evt_a") == clock.now
    assert len(queued(client, keys.DISPATCH_QUEUE)) == 1


def test_a_lost_dispatch_is_enqueued_again_once(client, clock, world):
    reconciler, _ = world
    ingested(client, "evt_a")
    lose(client, keys.DISPATCH_QUEUE, "evt_a")
    clock.now = T0 + BOUND + 1
    assert reconciler.run() == 1
    [message] = queued(client, keys.DISPATCH_QUEUE)
    assert message["args"] == ["evt_a", "github", "push"]
    assert client.hget(keys.carriers("evt_a"), "dispatch").decode() == message["options"]["redis_message_id"]
    assert int(client.get(keys.REPAIRS)) == 1
    clock.now += BOUND + 1
    assert reconciler.run() == 0, "the new message is alive"
    assert len(queued(client, keys.DISPATCH_QUEUE)) == 1


def test_a_lost_retry_of_one_consumer_is_enqueued_again_and_the_other_left_alone(client, clock, world):
    reconciler, actors = world
    ingested(client, "evt_a")
    lose(client, keys.DISPATCH_QUEUE, "evt_a")  # the dispatch ran: it fanned out
    ledger = Ledger(client)
    billing, crm = (actors.deliver_message("evt_a", c) for c in reconciler._registry)
    ledger.fan_out("evt_a", [("billing", billing), ("crm", crm)])
    ledger.begin("evt_a", "crm", 1)
    ledger.failed("evt_a", "crm", 1, "HTTP 500", rejected=False, final=False)
    lose(client, keys.DELIVER_QUEUE, crm.options["redis_message_id"])
    clock.now = T0 + BOUND + 1
    client.zadd(keys.UNSETTLED, {"evt_a": T0})
    assert reconciler.run() == 1
    messages = queued(client, keys.DELIVER_QUEUE)
    assert [m["args"] for m in messages] == [["evt_a", "billing"], ["evt_a", "crm"]]
    assert messages[1]["options"]["max_retries"] == 3, "the consumer's own retry settings"
    assert ledger.states("evt_a") == {"billing": "queued", "crm": "queued"}
    assert ledger.attempts("evt_a")[-1]["outcome"] == "repaired"


def test_settled_and_expired_events_leave_the_index(client, clock, world):
    reconciler, _ = world
    ingested(client, "evt_done")
    Ledger(client).apply([Ledger.status_op("evt_done", "unrouted")])
    assert client.zscore(keys.UNSETTLED, "evt_done") is None
    ingested(client, "evt_gone")
    client.delete(keys.event("evt_gone"))
    ingested(client, "evt_processed")
    client.hset(keys.event("evt_processed"), "status", "processed")
    clock.now = T0 + BOUND + 1
    assert reconciler.run() == 0
    assert client.zcard(keys.UNSETTLED) == 0


def test_a_repair_rechecks_atomically_and_never_doubles_a_message(client, clock, world):
    """The reconciler saw no carrier; by the time it repairs, one has turned up: nothing is enqueued."""
    _, actors = world
    ingested(client, "evt_a")
    lose(client, keys.DISPATCH_QUEUE, "evt_a")
    replayed = actors.dispatch_message("evt_a", "github", "push")
    Ledger(client).apply(
        [
            {
                "op": "enqueue",
                "queue": keys.DISPATCH_QUEUE,
                "id": replayed.options["redis_message_id"],
                "message": replayed.encode().decode(),
                "event": "evt_a",
                "slot": "dispatch",
            }
        ]
    )
    repair = scripts.register(client, "repair")
    fresh = actors.dispatch_message("evt_a", "github", "push")
    args = ["evt_a", repr(clock.now), "dispatch", "evt_a", keys.DISPATCH_QUEUE]
    assert repair(args=[*args, fresh.options["redis_message_id"], fresh.encode().decode(), ""]) == []
    assert len(queued(client, keys.DISPATCH_QUEUE)) == 1


def test_a_lease_has_one_holder_until_it_lapses_or_is_released(client):
    first = Lease(client, "reconciler", ttl_seconds=5, holder="first")
    second = Lease(client, "reconciler", ttl_seconds=5, holder="second")
    assert first.acquire() and first.acquire(), "held, then renewed"
    assert not second.acquire()
    client.pexpire(first.key, 1)
    client.delete(first.key)  # lapsed
    assert second.acquire() and not first.acquire()
    second.release()
    assert first.acquire()
