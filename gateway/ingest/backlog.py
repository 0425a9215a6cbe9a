"""Backlog gauges, read from Redis when ``/metrics`` is scraped: dead letters per consumer, the age
of the oldest queued message and the events not yet in the record. Two round trips on the async
client, bounded by the Redis timeout."""

from __future__ import annotations

import asyncio
import json
import time

import redis.asyncio as aioredis
import structlog

from gateway.platform import metrics
from gateway.platform.connections import REDIS_ERRORS
from gateway.store import keys

log = structlog.get_logger("hookgate.metrics")

_QUEUES = (keys.DISPATCH_QUEUE, keys.DELIVER_QUEUE)


class Backlog:
    def __init__(self, client: aioredis.Redis, retention_seconds: int, timeout: float) -> None:
        self._client = client
        self._retention = retention_seconds
        self._timeout = timeout

    async def refresh(self) -> None:
        """Update the gauges; on a Redis failure keep the last values (a scrape never fails for it)."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._refresh()
        except REDIS_ERRORS as exc:
            log.warning("backlog metrics not refreshed", error=str(exc))

    async def _refresh(self) -> None:
        now = time.time()
        members = await self._client.smembers(keys.DLQ_CONSUMERS)
        consumers = sorted(m.decode() if isinstance(m, bytes) else m for m in members)
        async with self._client.pipeline(transaction=False) as pipe:
            for consumer in consumers:
                # Entries expire with their events: forget index members older than retention.
                pipe.zremrangebyscore(keys.dlq_by_consumer(consumer), "-inf", now - self._retention)
                pipe.zcard(keys.dlq_by_consumer(consumer))
            for queue in _QUEUES:
                pipe.lindex(keys.dramatiq_queue(queue), 0)
            pipe.zcard(keys.RECORD_PENDING)
            *replies, record_backlog = await pipe.execute()
        metrics.RECORD_BACKLOG.set(record_backlog)
        for index, consumer in enumerate(consumers):
            metrics.DLQ_ENTRIES.labels(consumer).set(replies[index * 2 + 1])
        heads = replies[len(consumers) * 2 :]
        async with self._client.pipeline(transaction=False) as pipe:
            for queue, head in zip(_QUEUES, heads, strict=True):
                pipe.hget(keys.dramatiq_messages(queue), head or b"-")
            messages = await pipe.execute()
        ages = [now - json.loads(raw)["message_timestamp"] / 1000 for raw in messages if raw]
        metrics.QUEUE_LAG.set(max([0.0, *ages]))
