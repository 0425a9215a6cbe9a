"""An idle worker waits on its queue's wake list: a stored event or a queued delivery starts it at once,
not at its next poll (a real redis-server, so BLPOP really blocks)."""

from __future__ import annotations

import asyncio
import threading
import time

import dramatiq
import pytest
import redis
from dramatiq.errors import ConnectionClosed

from gateway.config import RedisSettings, RetentionSettings, Settings
from gateway.platform.connections import async_client
from gateway.store import keys
from gateway.store.ingest import Incoming, Ingestor
from gateway.worker.broker import HookgateBroker, build_broker
from gateway.worker.housekeeping import Promoter

#: The consumer's idle poll: a message found by polling waits at least half of it.
POLL_MS = 4000
#: This test's connections, told apart from any other client of the session's redis-server.
NAME = "hookgate-wake-test"


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url, client_name=NAME)
    yield client
    client.close()


@pytest.fixture
def broker(client):
    broker = build_broker(Settings(), client)
    broker.declare_queue(keys.DISPATCH_QUEUE)
    broker.declare_queue(keys.DELIVER_QUEUE)
    yield broker
    broker.close()


def store_one(redis_url: str) -> str:
    async def put() -> str:
        aclient = async_client(RedisSettings(url=redis_url))
        try:
            incoming = Incoming("github", b"{}", [], "d-1", "push")
            stored = await Ingestor(aclient, RetentionSettings(), timeout=5).put_if_new(incoming)
            return stored.event_id
        finally:
            await aclient.aclose()

    return asyncio.run(put())


def idle_consumer(broker: HookgateBroker, queue: str) -> tuple[threading.Thread, list[tuple[float, str]]]:
    """A consumer thread polling ``queue`` as an idle worker does (at its longest interval), recording
    when it got each message."""
    consumer = broker.consume(queue, prefetch=1, timeout=POLL_MS)
    consumer.misses = 32  # idle for long: each wait is 2 to 4 s
    got: list[tuple[float, str]] = []

    def run() -> None:
        deadline = time.monotonic() + 3 * POLL_MS / 1000
        while not got and time.monotonic() < deadline:
            message = next(consumer)
            if message is not None:
                got.append((time.monotonic(), message.options["redis_message_id"]))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def blocked(client: redis.Redis) -> list[str]:
    """This test's connections blocked in a wait."""
    return [c["id"] for c in client.client_list() if c["name"] == NAME and "b" in c["flags"]]


def wait_until_blocked(client: redis.Redis) -> None:
    deadline = time.monotonic() + 5
    while not blocked(client):
        assert time.monotonic() < deadline, "the idle consumer never waited on its wake list"
        time.sleep(0.01)


def test_a_stored_event_wakes_an_idle_dispatch_consumer_at_once(client, broker, redis_url):
    thread, got = idle_consumer(broker, keys.DISPATCH_QUEUE)
    wait_until_blocked(client)
    stored_at = time.monotonic()
    event_id = store_one(redis_url)
    thread.join(3 * POLL_MS / 1000)
    assert [message_id for _, message_id in got] == [event_id]
    assert got[0][0] - stored_at < POLL_MS / 1000 / 4  # polling alone would take 2 s at least
    assert client.llen(keys.queue_wake(keys.DISPATCH_QUEUE)) == 0  # the token was taken


def test_a_queued_delivery_wakes_an_idle_deliver_consumer_and_tokens_do_not_pile_up(client, broker):
    thread, got = idle_consumer(broker, keys.DELIVER_QUEUE)
    wait_until_blocked(client)
    queued_at = time.monotonic()
    message = dramatiq.Message(keys.DELIVER_QUEUE, keys.DELIVER_ACTOR, ("evt_1", "billing"), {}, {})
    message = broker.enqueue(message, delay=0)  # waits in Redis, then the promoter's Lua step queues it
    assert Promoter(client, interval_seconds=1).promote(int(time.time() * 1000) + 1000) == 1
    thread.join(3 * POLL_MS / 1000)
    assert [message_id for _, message_id in got] == [message.options["redis_message_id"]]
    assert got[0][0] - queued_at < POLL_MS / 1000 / 4
    # With nobody waiting, a queue keeps one token however many messages join it.
    for consumer in ("a", "b", "c"):
        broker.enqueue(
            dramatiq.Message(keys.DELIVER_QUEUE, keys.DELIVER_ACTOR, ("e", consumer), {}, {}), delay=0
        )
    Promoter(client, interval_seconds=1).promote(int(time.time() * 1000) + 1000)
    assert client.lrange(keys.queue_wake(keys.DELIVER_QUEUE), 0, -1) == [b"1"]


def test_a_wait_ended_by_a_failover_is_an_outage_the_consumer_restarts_from(client, broker):
    # A primary that becomes a replica ends its blocked clients' waits with an UNBLOCKED error; so does
    # CLIENT UNBLOCK ... ERROR. Dramatiq restarts a consumer that raises ConnectionClosed, quietly.
    consumer = broker.consume(keys.DISPATCH_QUEUE, prefetch=1, timeout=POLL_MS)
    consumer.misses = 32
    raised: list[BaseException] = []

    def run() -> None:
        try:
            next(consumer)
        except BaseException as exc:  # what the consumer thread would see
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_until_blocked(client)
    assert client.client_unblock(blocked(client)[0], error=True)
    thread.join(5)
    assert [type(exc) for exc in raised] == [ConnectionClosed]


def test_a_consumer_with_no_room_sleeps_instead_of_waiting_on_the_wake_list(client, broker, monkeypatch):
    # A token says a message joined the queue, which a consumer whose threads are all busy cannot take;
    # and Redis ends a blocked wait no sooner than its next tick (100 ms), far past a short backoff.
    consumer = broker.consume(keys.DISPATCH_QUEUE, prefetch=1, timeout=25)
    broker.holdings.hold(keys.DISPATCH_QUEUE, ["held"])

    def blpop(*args, **kwargs):
        raise AssertionError("a consumer with no room waited on the wake list")

    monkeypatch.setattr(broker.client, "blpop", blpop)
    assert [next(consumer) for _ in range(3)] == [None, None, None]


def test_a_wait_that_outlasts_the_socket_timeout_is_only_a_wait(redis_url):
    # Redis ends a blocked wait at its own tick (every 1 s at hz 1), which can be later than a short
    # [redis] timeout_seconds: that loses a wait, not the consumer.
    client = redis.Redis.from_url(redis_url, socket_timeout=0.05)
    broker = build_broker(Settings(), client)
    try:
        broker.declare_queue(keys.DISPATCH_QUEUE)
        consumer = broker.consume(keys.DISPATCH_QUEUE, prefetch=1, timeout=POLL_MS)
        consumer.misses = 32  # a wait of 2 to 4 s, far past the socket's 50 ms
        assert next(consumer) is None
        event_id = store_one(redis_url)
        assert next(consumer).options["redis_message_id"] == event_id
    finally:
        broker.close()
        client.close()
