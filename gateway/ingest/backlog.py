"""Backlog gauges, read from Redis when ``/metrics`` is scraped: dead letters per consumer, each
destination's state, held and in-flight deliveries (and an ordered one's blocked keys), the age of the
oldest queued message and the events not yet in the record. Three round trips on the async client (the
names, one pipeline of counts, the queues' oldest messages), bounded by the Redis timeout."""

from __future__ import annotations

import asyncio
import json
import time

import redis.asyncio as aioredis
import structlog

from gateway.platform import metrics
from gateway.platform.connections import REDIS_ERRORS
from gateway.store import keys
from gateway.store.lanes import STATES

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
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.smembers(keys.DLQ_CONSUMERS)
            pipe.smembers(keys.LANES)
            consumers, lanes = (sorted(map(_text, members)) for members in await pipe.execute())
        async with self._client.pipeline(transaction=False) as pipe:
            for consumer in consumers:
                # Entries expire with their events: forget index members older than retention.
                pipe.zremrangebyscore(keys.dlq_by_consumer(consumer), "-inf", now - self._retention)
                pipe.zcard(keys.dlq_by_consumer(consumer))
            for lane in lanes:
                pipe.hmget(keys.lane(lane), "state", "paused", "ordered")
                pipe.zcard(keys.lane_held(lane))
                pipe.zcard(keys.lane_in_flight(lane))
                pipe.zcard(keys.ordering_blocked(lane))
            for queue in _QUEUES:
                pipe.lindex(keys.dramatiq_queue(queue), 0)
            pipe.zcard(keys.RECORD_PENDING)
            *replies, record_backlog = await pipe.execute()
        metrics.RECORD_BACKLOG.set(record_backlog)
        for index, consumer in enumerate(consumers):
            metrics.DLQ_ENTRIES.labels(consumer).set(replies[index * 2 + 1])
        replies = replies[len(consumers) * 2 :]
        for index, lane in enumerate(lanes):
            (state, paused, ordered), held, in_flight, blocked = replies[index * 4 : index * 4 + 4]
            _set_destination(lane, _state(state, paused), held, in_flight)
            if ordered is not None and _text(ordered) == "1":
                _set_ordering(lane, blocked)
        heads = replies[len(lanes) * 4 :]
        async with self._client.pipeline(transaction=False) as pipe:
            for queue, head in zip(_QUEUES, heads, strict=True):
                pipe.hget(keys.dramatiq_messages(queue), head or b"-")
            messages = await pipe.execute()
        ages = [now - json.loads(raw)["message_timestamp"] / 1000 for raw in messages if raw]
        metrics.QUEUE_LAG.set(max([0.0, *ages]))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _state(state: bytes | str | None, paused: bytes | str | None) -> str:
    """A lane's state as ``gateway.store.lanes`` tells it: paused by hand, else its breaker's (closed
    until a worker writes one)."""
    if paused is not None and _text(paused) == "1":
        return "paused"
    return _text(state) if state else "closed"


def _set_destination(consumer: str, state: str, held: int, in_flight: int) -> None:
    for each in STATES:
        metrics.DESTINATION_STATE.labels(consumer, each).set(1 if each == state else 0)
    metrics.DESTINATION_HELD.labels(consumer).set(held)
    metrics.DESTINATION_IN_FLIGHT.labels(consumer).set(in_flight)


def _set_ordering(consumer: str, blocked: int) -> None:
    metrics.ORDERING_BLOCKED_KEYS.labels(consumer).set(blocked)
