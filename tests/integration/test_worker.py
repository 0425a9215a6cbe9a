"""Worker internals against a real redis-server: the heartbeat thread and Dramatiq's tuned settings."""

from __future__ import annotations

import time

import dramatiq
import redis

from gateway.broker import build_broker
from gateway.settings import Settings


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
        heartbeats = f"{broker.namespace}:__heartbeats__"
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
    from consumers.ledger import Ledger
    from gateway import keys

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
