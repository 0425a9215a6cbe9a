"""What operators do with stored events and dead letters; the CLI (and the admin API) call these.

Records share one shape everywhere: an event has ``event_id``, ``source``, ``delivery_id``,
``event_type``, ``status``, ``received_at`` (RFC 3339, UTC) and ``deliveries``; a dead letter has
``id``, ``event_id``, ``consumer``, ``error``, ``attempts`` and ``failed_at``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import redis

from consumers.actors import Actors
from consumers.dlq import DeadLetterFilter, DeadLetters
from consumers.ledger import Ledger
from consumers.registry import Registry
from gateway.alerts.issues import Issues
from gateway.settings import Settings
from gateway.store import keys
from gateway.timeparse import rfc3339

_FIELDS = ["source", "delivery_id", "event_type", "status", "received_at", "deliveries"]


class BadRequest(ValueError):
    """An operator's filter, cursor or argument that cannot be used; the message names it. Checked before
    anything reaches Redis: the API answers 422, the CLI exits 2, the dashboard shows it."""


def parse_cursor(cursor: str | None) -> float | None:
    """A page cursor, as ``list_events`` and ``list_dead_letters`` hand them out (a time index score)."""
    if cursor is None:
        return None
    try:
        value = float(cursor)
    except ValueError:
        raise BadRequest(f"cursor: {cursor[:40]!r} is not a cursor this API handed out") from None
    if not math.isfinite(value):
        raise BadRequest(f"cursor: {cursor[:40]!r} is not a cursor this API handed out")
    return value


@dataclass(frozen=True)
class EventFilter:
    """Which events to list; every field is optional. ``event_type`` is a glob."""

    source: str | None = None
    status: str | None = None
    event_type: str | None = None
    consumer: str | None = None
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class Activity:
    """Events per minute: ``starts`` are the minutes' unix times, each source has one count per minute."""

    starts: list[float]
    per_source: dict[str, list[int]]


@dataclass(frozen=True)
class StatusCounts:
    by_status: dict[str, int]
    read: int
    complete: bool


class Operations:
    """Events and dead letters as operators see them."""

    def __init__(
        self,
        client: redis.Redis,
        dead_letters: DeadLetters | None = None,
        *,
        actors: Actors | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.client = client
        self.ledger = Ledger(client)
        self.dead_letters = dead_letters or DeadLetters(client, self.ledger)
        self.issues = Issues(client, self.dead_letters)
        #: Present when built to enqueue (replay, DLQ retry): the declared actors and the consumers.
        self.actors = actors
        self.registry = registry

    # Events

    def iter_events(self, where: EventFilter, *, cursor: str | None = None) -> Iterator[dict[str, Any]]:
        """Matching events, newest first, read from the time index in batches (flat memory)."""
        index = keys.source_index(where.source) if where.source else keys.INDEX_ALL
        high = f"({cursor}" if cursor else (repr(where.until) if where.until is not None else "+inf")
        low = repr(where.since) if where.since is not None else "-inf"
        while True:
            batch: list[tuple[bytes, float]] = self.client.zrevrangebyscore(  # type: ignore[assignment]
                index, high, low, start=0, num=500, withscores=True
            )
            if not batch:
                return
            with self.client.pipeline(transaction=False) as pipe:
                for raw_id, _ in batch:
                    pipe.hmget(keys.event(raw_id.decode()), _FIELDS)
                    if where.consumer:
                        pipe.hexists(keys.consumer_states(raw_id.decode()), where.consumer)
                replies = pipe.execute()
            step = 2 if where.consumer else 1
            for position, (raw_id, score) in enumerate(batch):
                values = replies[position * step]
                if values[0] is None:  # expired between the index and the hash
                    continue
                if where.consumer and not replies[position * step + 1]:
                    continue
                record = _event_record(raw_id.decode(), values)
                record["_cursor"] = repr(score)
                if _matches(record, where):
                    yield record
            high = f"({batch[-1][1]!r}"

    def list_events(
        self, where: EventFilter, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        parse_cursor(cursor)
        items: list[dict[str, Any]] = []
        for record in self.iter_events(where, cursor=cursor):
            next_cursor = record.pop("_cursor")
            items.append(record)
            if len(items) == limit:
                return items, next_cursor
        return items, None

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        """Metadata, headers, body (text when UTF-8, always base64), consumer states and attempts."""
        raw: dict[bytes, bytes] = self.client.hgetall(keys.event(event_id))  # type: ignore[assignment]
        if not raw:
            return None
        fields = {k.decode(): v for k, v in raw.items()}
        record = _event_record(event_id, [fields.get(name) for name in _FIELDS])
        body = fields.get("body", b"")
        try:
            text: str | None = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        record["headers"] = json.loads(fields.get("headers", b"[]"))
        record["body"] = text
        record["body_base64"] = base64.b64encode(body).decode()
        record["consumers"] = self.ledger.states(event_id)
        record["attempts"] = [
            {**attempt, "at": rfc3339(attempt["at"])} for attempt in self.ledger.attempts(event_id)
        ]
        return record

    def stats(self) -> dict[str, Any]:
        """Counts by status and source, the oldest event, and the dead-letter queue's size and age."""
        by_status: dict[str, int] = {}
        by_source: dict[str, int] = {}
        for record in self.iter_events(EventFilter()):
            by_status[record["status"]] = by_status.get(record["status"], 0) + 1
            by_source[record["source"]] = by_source.get(record["source"], 0) + 1
        oldest: list[tuple[bytes, float]] = self.client.zrange(  # type: ignore[assignment]
            keys.INDEX_ALL, 0, 0, withscores=True
        )
        return {
            "events": sum(by_status.values()),
            "by_status": by_status,
            "by_source": by_source,
            "oldest_event_at": rfc3339(oldest[0][1]) if oldest else None,
            **self.dead_letter_summary(),
            "reconciler_repairs": int(self.client.get(keys.REPAIRS) or 0),
        }

    def dead_letter_summary(self) -> dict[str, Any]:
        """The dead-letter queue's size and when its oldest entry failed."""
        oldest: list[tuple[bytes, float]] = self.client.zrange(  # type: ignore[assignment]
            keys.DLQ_INDEX, 0, 0, withscores=True
        )
        return {
            "dlq_size": self.dead_letters.size(),
            "oldest_dlq_at": rfc3339(oldest[0][1]) if oldest else None,
        }

    def stored_events(self) -> int:
        return int(self.client.zcard(keys.INDEX_ALL))

    def activity(self, sources: Sequence[str], *, now: float, minutes: int = 60) -> Activity:
        """Events received per minute and source over the last ``minutes`` (the current minute last)."""
        end = (now // 60 + 1) * 60
        starts = [end - (minutes - i) * 60 for i in range(minutes)]
        with self.client.pipeline(transaction=False) as pipe:
            for source in sources:
                for start in starts:
                    pipe.zcount(keys.source_index(source), repr(start), f"({start + 60!r}")
            counts = pipe.execute()
        per_source = {
            source: [int(c) for c in counts[i * minutes : (i + 1) * minutes]]
            for i, source in enumerate(sources)
        }
        return Activity(starts, per_source)

    def recent_statuses(self, *, since: float, limit: int = 100_000) -> StatusCounts:
        """Counts by status of the events received since ``since``, newest first, reading at most
        ``limit`` of them (``complete`` says whether every one was read)."""
        by_status: dict[str, int] = {}
        read, high = 0, "+inf"
        while read < limit:
            batch: list[tuple[bytes, float]] = self.client.zrevrangebyscore(  # type: ignore[assignment]
                keys.INDEX_ALL, high, repr(since), start=0, num=min(1000, limit - read), withscores=True
            )
            if not batch:
                return StatusCounts(by_status, read, complete=True)
            with self.client.pipeline(transaction=False) as pipe:
                for raw_id, _ in batch:
                    pipe.hget(keys.event(raw_id.decode()), "status")
                statuses: list[bytes | None] = pipe.execute()
            for status in statuses:
                if status is not None:
                    by_status[status.decode()] = by_status.get(status.decode(), 0) + 1
            read += len(batch)
            high = f"({batch[-1][1]!r}"
        more = self.client.zcount(keys.INDEX_ALL, repr(since), high)
        return StatusCounts(by_status, read, complete=not more)

    def failing_consumers(self, *, now: float, window: float, limit: int = 10) -> list[dict[str, Any]]:
        """Consumers with dead letters from the last ``window`` seconds, the most first, with the time
        of their oldest one."""
        consumers = sorted(m.decode() for m in self.client.smembers(keys.DLQ_CONSUMERS))  # type: ignore[union-attr]
        with self.client.pipeline(transaction=False) as pipe:
            for consumer in consumers:
                pipe.zcount(keys.dlq_by_consumer(consumer), repr(now - window), "+inf")
                pipe.zrangebyscore(
                    keys.dlq_by_consumer(consumer),
                    repr(now - window),
                    "+inf",
                    start=0,
                    num=1,
                    withscores=True,
                )
            replies = pipe.execute()
        rows: list[dict[str, Any]] = [
            {"consumer": consumer, "dead_letters": int(count), "oldest_at": rfc3339(oldest[0][1])}
            for consumer, count, oldest in zip(consumers, replies[::2], replies[1::2], strict=True)
            if count
        ]
        rows.sort(key=lambda row: (-row["dead_letters"], row["consumer"]))
        return rows[:limit]

    def matching_ids(self, where: EventFilter) -> Iterator[str]:
        """The ids of matching events, streamed."""
        return (record["event_id"] for record in self.iter_events(where))

    def replay(
        self, event_ids: Iterable[str], *, force: bool = False, consumer: str | None = None
    ) -> Iterator[str]:
        """Enqueue each stored event again, yielding its id once sent (ids of gone events are skipped).

        By default consumers that already succeeded are skipped; ``force`` re-runs them all, as the n-th
        forced replay of the event, whose consumers see the idempotency key ``{event}:{consumer}:r{n}``.
        ``consumer`` limits the replay to that consumer. Needs an instance built to enqueue.
        """
        actors, registry = self.actors, self.registry
        if actors is None or registry is None:
            raise RuntimeError("Operations was built without a way to enqueue")
        for event_id in event_ids:
            raw: list[bytes | None] = self.client.hmget(keys.event(event_id), ["source", "event_type"])  # type: ignore[assignment]
            source, event_type = raw
            if source is None:
                continue
            replay = 0
            if force:
                with self.client.pipeline(transaction=True) as pipe:
                    pipe.incr(keys.replays(event_id))
                    pipe.pexpire(
                        keys.replays(event_id), max(int(self.client.pttl(keys.event(event_id))), 1000)
                    )
                    replay = int(pipe.execute()[0])
            self.ledger.apply([Ledger.status_op(event_id, "queued")])
            if consumer is not None:
                actors.send_to(event_id, consumer, registry, replay)
            else:
                actors.replay(event_id, source.decode(), (event_type or b"").decode() or None, replay)
            yield event_id

    # Dead letters

    def list_dead_letters(
        self, where: DeadLetterFilter, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        parse_cursor(cursor)
        items, next_cursor = self.dead_letters.list(where, limit=limit, cursor=cursor)
        return [_dead_letter_record(entry) for entry in items], next_cursor

    def get_dead_letter(self, entry_id: str) -> dict[str, Any] | None:
        entry = self.dead_letters.get(entry_id)
        if entry is None:
            return None
        record = _dead_letter_record(entry)
        record["history"] = [{**a, "at": rfc3339(a["at"])} for a in entry["history"]]
        return record


def _event_record(event_id: str, values: list[bytes | None]) -> dict[str, Any]:
    source, delivery_id, event_type, status, received_at, deliveries = ((v or b"").decode() for v in values)
    return {
        "event_id": event_id,
        "source": source,
        "delivery_id": delivery_id or None,
        "event_type": event_type or None,
        "status": status,
        "received_at": rfc3339(float(received_at or 0)),
        "deliveries": int(deliveries or 1),
    }


def _matches(record: dict[str, Any], where: EventFilter) -> bool:
    if where.status and record["status"] != where.status:
        return False
    return not (where.event_type and not fnmatchcase(record["event_type"] or "", where.event_type))


def _dead_letter_record(entry: dict[str, Any]) -> dict[str, Any]:
    record = {key: value for key, value in entry.items() if key != "history"}
    record["failed_at"] = rfc3339(entry["failed_at"])
    return record


def build_operations(settings: Settings, *, can_enqueue: bool = False) -> Operations:
    """The service on the configured Redis. With ``can_enqueue`` it declares the actors (on a broker of
    its own) and loads the consumers, whose retry settings a re-enqueued delivery carries."""
    import consumers
    from gateway import connections
    from gateway.broker import build_broker
    from gateway.store.events import EventStore
    from gateway.worker import register_forwards

    client = connections.sync_client(settings.redis, timeout=10)
    if not can_enqueue:
        return Operations(client)
    broker = build_broker(settings, client)
    consumers.load_modules(settings.consumers.modules)
    register_forwards(settings, consumers.registry)
    ledger = Ledger(client)
    actors = consumers.declare_actors(broker, EventStore(client), consumers.registry, ledger, broker)
    dead_letters = DeadLetters(client, ledger, lambda e, c: actors.resend(e, c, consumers.registry))
    return Operations(client, dead_letters, actors=actors, registry=consumers.registry)
