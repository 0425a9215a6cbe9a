"""The worker's broker over fakeredis (with Lua): a message and its outcome are settled in one step,
waiting messages live in Redis until due, and a worker gives back what it no longer holds."""

from __future__ import annotations

import json
import time

import dramatiq
import fakeredis
import pytest
import redis
from dramatiq.broker import MessageProxy

from gateway.config import Settings
from gateway.store import keys, scripts
from gateway.store.ledger import Attempt, Ledger
from gateway.worker.actors import declare_actors
from gateway.worker.broker import HookgateBroker, build_broker
from gateway.worker.housekeeping import Promoter


@pytest.fixture
def client():
    client = fakeredis.FakeRedis()
    client.hset(keys.event("evt_1"), mapping={"source": "github", "event_type": "push", "status": "queued"})
    client.expire(keys.event("evt_1"), 3600)
    return client


@pytest.fixture
def broker(client):
    broker = build_broker(Settings.model_validate({"worker": {"outcome_retry_seconds": 0.2}}), client)
    broker.declare_queue(keys.DELIVER_QUEUE)
    yield broker
    broker.close()


def deliver(broker: HookgateBroker, consumer: str = "billing") -> dramatiq.Message:
    return dramatiq.Message(keys.DELIVER_QUEUE, keys.DELIVER_ACTOR, ("evt_1", consumer), {}, {})


def fetch_one(broker: HookgateBroker) -> MessageProxy:
    consumer = broker.consume(keys.DELIVER_QUEUE, prefetch=4, timeout=10)
    for _ in range(20):
        message = next(consumer)
        if message is not None:
            return message
    raise AssertionError("nothing fetched")


def acks(broker: HookgateBroker) -> str:
    return keys.dramatiq_acks(broker.broker_id, keys.DELIVER_QUEUE)


def test_lua_keys_match_the_python_catalogue(client):
    script = client.register_script(
        scripts.source("settle").split("-- Settles one message")[0]
        + "return {event_key('e'), states_key('e'), attempts_key('e'), done_key('e', 'c'), carriers_key('e'),"
        " queue_key('deliver'), messages_key('deliver'), UNSETTLED, WAITING, WAITING_MESSAGES}"
    )
    assert [k.decode() for k in script()] == [
        keys.event("e"),
        keys.consumer_states("e"),
        keys.attempts("e"),
        keys.done("e", "c"),
        keys.carriers("e"),
        keys.dramatiq_queue("deliver"),
        keys.dramatiq_messages("deliver"),
        keys.UNSETTLED,
        keys.WAITING,
        keys.WAITING_MESSAGES,
    ]


def test_success_is_written_in_the_same_step_as_the_ack(client, broker):
    broker.enqueue(deliver(broker))
    message = fetch_one(broker)
    message_id = message.options["redis_message_id"]
    assert client.sismember(acks(broker), message_id)
    broker.record(message_id, Ledger.success_op("evt_1", "billing", 1, 3.0))
    assert not Ledger(client).already_done("evt_1", "billing"), "nothing is written before the ack"
    broker.settle(keys.DELIVER_QUEUE, message)
    assert Ledger(client).already_done("evt_1", "billing")
    assert not client.sismember(acks(broker), message_id)
    assert not client.hexists(keys.dramatiq_messages(keys.DELIVER_QUEUE), message_id)
    assert broker.holdings.count(keys.DELIVER_QUEUE) == 0
    assert client.zscore(keys.UNSETTLED, "evt_1") is None, "a processed event is settled"


def test_settling_twice_writes_the_outcome_once(client, broker):
    """A retry after a lost reply finds the message settled and writes nothing again."""
    broker.enqueue(deliver(broker))
    message = fetch_one(broker)
    message_id = message.options["redis_message_id"]
    settle = scripts.register(client, "settle")
    outcome = json.dumps([Ledger.success_op("evt_1", "billing", 1, 3.0)])
    args = [message_id, repr(time.time()), outcome]
    queue_keys = [acks(broker), keys.dramatiq_messages(keys.DELIVER_QUEUE)]
    assert settle(keys=queue_keys, args=args)[0] == b"applied"
    assert settle(keys=queue_keys, args=args)[0] == b"settled"
    assert [a["outcome"] for a in Ledger(client).attempts("evt_1")] == ["succeeded"]


def test_a_message_taken_back_from_a_presumed_dead_worker_keeps_only_its_success(client, broker):
    broker.enqueue(deliver(broker))
    message = fetch_one(broker)
    message_id = message.options["redis_message_id"]
    # Another worker's maintenance requeued it: out of this worker's ack set, its data still there.
    client.srem(acks(broker), message_id)
    client.rpush(keys.dramatiq_queue(keys.DELIVER_QUEUE), message_id)
    broker.record(message_id, Ledger.success_op("evt_1", "billing", 1, 3.0))
    other = deliver(broker, "other").copy(options={"redis_message_id": "m-other"})
    broker.record(message_id, Ledger.fan_out_op("evt_1", [("other", other)]))
    broker.settle(keys.DELIVER_QUEUE, message)
    assert Ledger(client).already_done("evt_1", "billing")
    assert Ledger(client).states("evt_1") == {"billing": "processed"}, "the fan-out is the next run's"


def test_a_retry_waits_in_redis_and_is_scheduled_with_the_failed_message_ack(client, broker):
    broker.enqueue(deliver(broker))
    message = fetch_one(broker)
    message_id = message.options["redis_message_id"]
    message.options["retries"] = 1
    message.options["traceback"] = "Traceback ... (long)"
    retry = broker.enqueue(message, delay=60_000)
    assert client.zcard(keys.WAITING) == 0, "scheduled only with the ack"
    broker.settle(keys.DELIVER_QUEUE, message)
    assert client.zrange(keys.WAITING, 0, -1) == [retry.options["redis_message_id"].encode()]
    waiting = json.loads(client.hget(keys.WAITING_MESSAGES, retry.options["redis_message_id"]))
    assert waiting["queue_name"] == keys.DELIVER_QUEUE and "eta" not in waiting["options"]
    assert "traceback" not in waiting["options"], "the ledger keeps tracebacks; waiting messages stay small"
    assert client.hget(keys.carriers("evt_1"), "billing").decode() == retry.options["redis_message_id"]
    assert not client.hexists(keys.dramatiq_messages(keys.DELIVER_QUEUE), message_id)


def test_due_messages_are_promoted_to_their_queue_once(client, broker):
    now = int(time.time() * 1000)
    early = broker.enqueue(deliver(broker, "a"), delay=0)
    late = broker.enqueue(deliver(broker, "b"), delay=3_600_000)
    promoter = Promoter(client, interval_seconds=1)
    assert promoter.promote(now + 1000) == 1
    assert promoter.promote(now + 1000) == 0
    queue = [m.decode() for m in client.lrange(keys.dramatiq_queue(keys.DELIVER_QUEUE), 0, -1)]
    assert queue == [early.options["redis_message_id"]]
    assert client.zrange(keys.WAITING, 0, -1) == [late.options["redis_message_id"].encode()]
    assert fetch_one(broker).args == ("evt_1", "a")


def test_no_delay_queue_is_declared_so_no_worker_holds_waiting_messages(broker):
    assert broker.get_declared_queues() == {keys.DELIVER_QUEUE}
    assert broker.get_declared_delay_queues() == set()


def test_messages_a_worker_no_longer_holds_are_given_back(client, broker):
    for name in ("a", "b", "c"):
        broker.enqueue(deliver(broker, name))
    held = fetch_one(broker)  # held: the consumer's cache takes all three, the first is handed out
    lost = broker.do_fetch(keys.DELIVER_QUEUE, 5)  # nothing left: the queue is empty
    assert lost == []
    # A fetch whose reply never arrived: in the ack set, not in memory.
    lost_id = broker.enqueue(deliver(broker, "d")).options["redis_message_id"]
    broker.do_fetch(keys.DELIVER_QUEUE, 1)
    assert client.scard(acks(broker)) == 4
    broker.holdings.release(keys.DELIVER_QUEUE, [held.options["redis_message_id"]])  # e.g. gave up
    assert broker.give_back(keys.DELIVER_QUEUE) == 2
    queue = client.lrange(keys.dramatiq_queue(keys.DELIVER_QUEUE), 0, -1)
    assert sorted(queue) == sorted([held.options["redis_message_id"].encode(), lost_id.encode()])
    assert client.scard(acks(broker)) == 2


def test_an_outcome_that_cannot_be_written_leaves_the_message_unacknowledged(client, broker, monkeypatch):
    broker.enqueue(deliver(broker))
    message = fetch_one(broker)
    message_id = message.options["redis_message_id"]
    broker.record(message_id, Ledger.success_op("evt_1", "billing", 1, 3.0))

    def down(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(broker, "_settle", down)
    broker.settle(keys.DELIVER_QUEUE, message)  # waits outcome_retry_seconds (0.2 s), then gives up
    monkeypatch.undo()
    assert client.sismember(acks(broker), message_id), "not acknowledged"
    assert not Ledger(client).already_done("evt_1", "billing")
    assert broker.give_back(keys.DELIVER_QUEUE) == 1, "it comes back"


def test_a_failing_middleware_leaves_the_message_unacknowledged(client, broker):
    class Broken(dramatiq.Middleware):
        def after_process_message(self, broker, message, *, result=None, exception=None):
            raise RuntimeError("a bug in a middleware")

    broker.add_middleware(Broken())
    broker.enqueue(deliver(broker))
    message = fetch_one(broker)
    broker.emit_after("process_message", message, result=None)
    broker.settle(keys.DELIVER_QUEUE, message)
    assert client.sismember(acks(broker), message.options["redis_message_id"])


def test_attempt_records_and_dead_letters_survive_text_that_is_not_utf8(client):
    """An exception's message may carry a lone surrogate from a payload; the record is still written."""
    from gateway.store.dlq import DeadLetters

    ledger = Ledger(client)
    ledger.failed("evt_1", "billing", 1, "ValueError: \ud800 bad", rejected=False, final=False)
    DeadLetters(client, ledger).add(
        event_id="evt_1",
        consumer="billing",
        error_type="ValueError",
        error="ValueError: \ud800 bad",
        traceback="Traceback \udcff",
        attempts=2,
    )
    assert [a["outcome"] for a in ledger.attempts("evt_1")] == ["failed", "failed"]
    assert ledger.states("evt_1") == {"billing": "dead"}
    assert isinstance(Attempt(0, "c", 1, "x").encode(), str)


def test_an_inline_first_attempt_that_fails_is_scheduled_with_the_dispatch_ack(client, broker):
    import consumers
    from gateway.store.events import EventStore

    def failing(event):
        raise RuntimeError("the target is down")

    registry = consumers.Registry()
    registry.add(consumers.Consumer("billing", "github", (), failing, 3, 1000, 1000))
    actors = declare_actors(broker, EventStore(client, 86400), registry, Ledger(client), broker)
    broker.enqueue(actors.dispatch.message("evt_1", "github", "push"))
    consumer = broker.consume(keys.DISPATCH_QUEUE, prefetch=1, timeout=10)
    message = next(m for m in iter(lambda: next(consumer), object()) if m is not None)
    broker.emit_before("process_message", message)  # what a worker thread does (CurrentMessage)
    actors.dispatch(*message.args)
    broker.emit_after("process_message", message, result=None)
    assert client.zcard(keys.WAITING) == 0, "nothing before the ack"
    consumer.ack(message)
    [waiting] = client.zrange(keys.WAITING, 0, -1, withscores=True)
    assert 0 < waiting[1] - time.time() * 1000 <= 1000, "Retries' backoff for the consumer (1 s)"
    retry = json.loads(client.hget(keys.WAITING_MESSAGES, waiting[0]))
    assert retry["args"] == ["evt_1", "billing"] and retry["options"]["retries"] == 1
    assert Ledger(client).states("evt_1") == {"billing": "retrying"}
    assert [a["outcome"] for a in Ledger(client).attempts("evt_1")] == ["started", "failed"]


def test_hooks_run_in_middleware_order_including_middleware_added_after_a_signal_was_emitted(broker):
    """The broker calls only the hooks a middleware defines (not ``Middleware``'s empty ones), so it keeps
    them per signal: a middleware added later must still be called, in Dramatiq's order, and a
    ``MiddlewareError`` such as ``SkipMessage`` must still reach the worker."""
    from dramatiq.middleware import Middleware, SkipMessage

    calls: list[str] = []

    class Seen(Middleware):
        def __init__(self, name: str, skip: bool = False) -> None:
            self.name, self.skip = name, skip

        def before_process_message(self, broker, message):
            calls.append(f"before {self.name}")
            if self.skip:
                raise SkipMessage

        def after_process_message(self, broker, message, *, result=None, exception=None):
            calls.append(f"after {self.name}")

    broker.enqueue(deliver(broker))
    message = fetch_one(broker)
    broker.add_middleware(Seen("first"))
    broker.emit_before("process_message", message)
    broker.emit_after("process_message", message, result=None)
    broker.add_middleware(Seen("second", skip=True))
    with pytest.raises(SkipMessage):
        broker.emit_before("process_message", message)
    broker.emit_after("process_message", message, result=None)
    assert calls == [
        "before first",
        "after first",
        "before first",
        "before second",
        "after second",
        "after first",
    ]
