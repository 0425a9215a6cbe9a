"""Worker internals against a real redis-server: the heartbeat thread and Dramatiq's tuned settings."""

from __future__ import annotations

import time

import dramatiq
import redis

from gateway.config import Settings
from gateway.store import keys
from gateway.worker.broker import build_broker


def test_heartbeat_is_refreshed_even_when_no_queue_is_polled(redis_url):
    """Dramatiq beats only when a consumer talks to Redis; hookgate's own thread beats regardless."""
    settings = Settings.model_validate(
        {"redis": {"url": redis_url}, "worker": {"heartbeat_timeout_ms": 1000}}
    )
    client = redis.Redis.from_url(redis_url)
    broker = build_broker(settings, client)
    assert broker.heartbeat_timeout == 1000
    worker = dramatiq.Worker(broker, queues={"nothing-is-declared-here"}, worker_threads=1)
    worker.start()
    try:
        heartbeats = keys.DRAMATIQ_HEARTBEATS
        time.sleep(0.6)
        first = client.zscore(heartbeats, broker.broker_id)
        assert first is not None
        time.sleep(0.6)
        second = client.zscore(heartbeats, broker.broker_id)
        assert second is not None and second > first
        assert time.time() * 1000 - second < 1000
    finally:
        worker.stop()
        broker.close()


def test_a_success_is_settled_with_its_ack_even_after_redis_forgot_the_scripts(redis_url):
    from gateway.store.ledger import Ledger

    settings = Settings.model_validate({"redis": {"url": redis_url}})
    client = redis.Redis.from_url(redis_url)
    broker = build_broker(settings, client)
    broker.declare_queue(keys.DELIVER_QUEUE)
    broker.enqueue(dramatiq.Message(keys.DELIVER_QUEUE, keys.DELIVER_ACTOR, ("evt_ack", "c"), {}, {}))
    client.hset(keys.event("evt_ack"), mapping={"source": "s", "status": "processing"})
    client.expire(keys.event("evt_ack"), 60)
    consumer = broker.consume(keys.DELIVER_QUEUE, prefetch=1, timeout=100)
    try:
        message = next(m for m in iter(lambda: next(consumer), object()) if m is not None)
        client.script_flush()
        broker.record(message.options["redis_message_id"], Ledger.success_op("evt_ack", "c", 1, 1.0))
        consumer.ack(message)
    finally:
        consumer.close()
        broker.close()
    assert client.exists(keys.done("evt_ack", "c"))
    assert client.hget(keys.event("evt_ack"), "status") == b"processed"
    assert client.hlen(keys.dramatiq_messages(keys.DELIVER_QUEUE)) == 0


def _restartable(tmp_path):
    """A redis-server to SIGKILL and restart from its AOF. With ``appendfsync everysec`` Redis may answer
    a write before the write reaches its AOF file (it postpones the write, up to 2 s, while a background
    fsync is still running: a busy disk), and a SIGKILL then loses it; one full run lost the fetch that put
    the message in the ack set. These tests are about hookgate's acks, so every write is on disk first."""
    from tests.conftest import start_redis

    server = start_redis(tmp_path / "redis")
    redis.Redis(port=server.port).config_set("appendfsync", "always")
    return server


def test_a_retry_that_cannot_be_scheduled_leaves_its_message_unacknowledged(tmp_path):
    """Redis goes away after an attempt failed: the retry cannot be written, so the message is not
    acknowledged; when Redis is back (from its AOF) the worker gives it back and it runs again."""

    server = _restartable(tmp_path)
    try:
        settings = Settings.model_validate({"worker": {"outcome_retry_seconds": 1}})
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        broker = build_broker(settings, client)
        broker.declare_queue(keys.DELIVER_QUEUE)
        broker.enqueue(dramatiq.Message(keys.DELIVER_QUEUE, keys.DELIVER_ACTOR, ("evt_r", "c"), {}, {}))
        consumer = broker.consume(keys.DELIVER_QUEUE, prefetch=1, timeout=100)
        message = next(m for m in iter(lambda: next(consumer), object()) if m is not None)
        message_id = message.options["redis_message_id"]
        broker.enqueue(message, delay=60_000)  # what Retries does after a failed attempt
        server.process.kill()
        server.process.wait()
        started = time.monotonic()
        consumer.ack(message)  # waits out outcome_retry_seconds, then gives up
        assert 0.9 < time.monotonic() - started < 10
        from gateway.processes.dev import EmbeddedRedis

        server = EmbeddedRedis(server.data_dir, port=server.port)
        server.start()
        acks = keys.dramatiq_acks(broker.broker_id, keys.DELIVER_QUEUE)
        assert client.sismember(acks, message_id), "still unacknowledged after the restart"
        assert client.zcard(keys.WAITING) == 0
        assert broker.give_back(keys.DELIVER_QUEUE) == 1
        assert client.lrange(keys.dramatiq_queue(keys.DELIVER_QUEUE), 0, -1) == [message_id.encode()]
        broker.close()
    finally:
        server.stop()


def test_a_consumer_that_loses_its_connection_gives_back_what_it_had_prefetched(tmp_path):
    from gateway.processes.dev import EmbeddedRedis
    from gateway.store.ledger import Ledger

    server = _restartable(tmp_path)
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        client.hset(keys.event("evt_p"), mapping={"source": "s", "status": "queued"})
        client.expire(keys.event("evt_p"), 600)
        broker = build_broker(Settings(), client)
        broker.declare_queue(keys.DELIVER_QUEUE)
        for n in range(4):
            broker.enqueue(
                dramatiq.Message(keys.DELIVER_QUEUE, keys.DELIVER_ACTOR, ("evt_p", f"c{n}"), {}, {})
            )
        consumer = broker.consume(keys.DELIVER_QUEUE, prefetch=4, timeout=100)
        running = next(m for m in iter(lambda: next(consumer), object()) if m is not None)
        assert client.scard(keys.dramatiq_acks(broker.broker_id, keys.DELIVER_QUEUE)) == 4
        server.process.kill()
        server.process.wait()
        # What Dramatiq's consumer thread does on a connection error: close this consumer, later start
        # another. Redis is down: the three prefetched ones cannot be requeued; they are released.
        consumer.close()
        server = EmbeddedRedis(server.data_dir, port=server.port)
        server.start()
        fresh = broker.consume(keys.DELIVER_QUEUE, prefetch=4, timeout=100)
        got = [m for m in (next(fresh) for _ in range(3)) if m is not None]
        assert sorted(m.args[1] for m in got) == ["c1", "c2", "c3"], "given back, then fetched again"
        broker.record(running.options["redis_message_id"], Ledger.success_op("evt_p", "c0", 1, 1.0))
        consumer.ack(running)  # the one that kept running settles normally
        assert Ledger(client).already_done("evt_p", "c0")
        broker.close()
    finally:
        server.stop()
