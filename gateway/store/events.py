"""Stored events: the reads every front end shares (pages, one event, counts) and the routing facts the
worker needs. Events are written by ``ingest`` and their status by the Lua scripts (``lua/record.lua``),
which never bring back an expired event."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import msgspec
import redis

from gateway.config.filtering import Request
from gateway.store import keys
from gateway.store.paging import Cursor, newest_first, take

STATUSES = ("queued", "processing", "processed", "retrying", "dead", "unrouted", "filtered")
_FIELDS = ["source", "delivery_id", "event_type", "status", "received_at", "deliveries"]


@dataclass(frozen=True)
class EventFilter:
    """Which events; every field is optional. ``event_type`` is a glob, times are unix seconds, ``match``
    compact JSON text and ``headers`` (lower-case name, value) pairs."""

    source: str | None = None
    status: str | None = None
    event_type: str | None = None
    consumer: str | None = None
    since: float | None = None
    until: float | None = None
    #: Payload search (the record only): a JSON document the body contains, and header pairs.
    match: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def searches(self) -> bool:
        return self.match is not None or bool(self.headers)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> EventFilter:
        """From ``dataclasses.asdict`` after a JSON round trip (a bulk replay's message)."""
        headers = tuple((str(name), str(value)) for name, value in fields.get("headers") or ())
        return cls(**{**fields, "headers": headers})


@dataclass(frozen=True)
class EventSummary:
    """An event as lists show it; ``record`` is its JSON shape (CLI ``--json``, the API, the dashboard)."""

    event_id: str
    source: str
    delivery_id: str | None
    event_type: str | None
    status: str
    received_at: float
    deliveries: int

    @classmethod
    def from_values(cls, event_id: str, values: Sequence[bytes | None]) -> EventSummary:
        source, delivery_id, event_type, status, received_at, deliveries = (
            (v or b"").decode() for v in values
        )
        return cls(
            event_id,
            source,
            delivery_id or None,
            event_type or None,
            status,
            float(received_at or 0),
            int(deliveries or 1),
        )

    def record(self) -> dict[str, Any]:
        from gateway.platform.timeparse import rfc3339

        return {
            "event_id": self.event_id,
            "source": self.source,
            "delivery_id": self.delivery_id,
            "event_type": self.event_type,
            "status": self.status,
            "received_at": rfc3339(self.received_at),
            "deliveries": self.deliveries,
        }

    def matches(self, where: EventFilter) -> bool:
        if where.status and self.status != where.status:
            return False
        return not (where.event_type and not fnmatchcase(self.event_type or "", where.event_type))


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


class EventStore:
    """Reads stored events."""

    def __init__(self, client: redis.Redis, retention_seconds: float) -> None:
        self._client = client
        self._retention = retention_seconds

    def routing(self, event_id: str) -> tuple[str, str | None] | None:
        """The event's source and type (what dispatch routes on), None when it is gone."""
        found: list[bytes | None] = self._client.hmget(keys.event(event_id), ["source", "event_type"])  # type: ignore[assignment]
        source, event_type = found
        if source is None:
            return None
        return source.decode(), (event_type or b"").decode() or None

    def filter_request(self, event_id: str) -> Request | None:
        """What filters look at (body, headers, query and path as received), None when the event is gone."""
        found: list[bytes | None] = self._client.hmget(  # type: ignore[assignment]
            keys.event(event_id), ["source", "body", "headers", "query"]
        )
        return request_of(*found)

    def filter_requests(self, event_ids: Sequence[str]) -> list[Request | None]:
        """``filter_request`` of each event, in one round trip."""
        with self._client.pipeline(transaction=False) as pipe:
            for event_id in event_ids:
                pipe.hmget(keys.event(event_id), ["source", "body", "headers", "query"])
            replies: list[list[bytes | None]] = pipe.execute()
        return [request_of(*found) for found in replies]

    def iter(
        self, where: EventFilter, *, after: Cursor | None = None
    ) -> Iterator[tuple[EventSummary, Cursor]]:
        """Matching events, newest first, each with the cursor that resumes after it (flat memory)."""
        index = keys.source_index(where.source) if where.source else keys.INDEX_ALL
        walk = newest_first(self._client, index, since=where.since, until=where.until, after=after)
        while True:
            batch = [item for item in (next(walk, None) for _ in range(500)) if item is not None]
            if not batch:
                return
            with self._client.pipeline(transaction=False) as pipe:
                for event_id, _ in batch:
                    pipe.hmget(keys.event(event_id), _FIELDS)
                    if where.consumer:
                        pipe.hexists(keys.consumer_states(event_id), where.consumer)
                replies = pipe.execute()
            step = 2 if where.consumer else 1
            for position, (event_id, score) in enumerate(batch):
                values = replies[position * step]
                if values[0] is None:  # expired between the index and the hash
                    continue
                if where.consumer and not replies[position * step + 1]:
                    continue
                summary = EventSummary.from_values(event_id, values)
                if summary.matches(where):
                    yield summary, Cursor(score, event_id)

    def page(
        self, where: EventFilter, *, limit: int = 50, after: Cursor | None = None
    ) -> tuple[list[EventSummary], Cursor | None]:
        """One page; the cursor of the next, None on the last."""
        return take(self.iter(where, after=after), limit)

    def restore(self, event_id: str) -> bool:
        """Nothing to bring back: without the record, Redis is the whole store and nothing is archived
        (a gone event shows as gone where it is read, e.g. ``routing``)."""
        return True

    def get(self, event_id: str) -> dict[str, Any] | None:
        """Metadata, headers (``[name, value]`` pairs) and body (text when UTF-8, always base64)."""
        raw: dict[bytes, bytes] = self._client.hgetall(keys.event(event_id))  # type: ignore[assignment]
        if not raw:
            return None
        fields = {k.decode(): v for k, v in raw.items()}
        record = EventSummary.from_values(event_id, [fields.get(name) for name in _FIELDS]).record()
        body = fields.get("body", b"")
        try:
            text: str | None = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        record["headers"] = json.loads(fields.get("headers", b"[]"))
        record["body"] = text
        record["body_base64"] = base64.b64encode(body).decode()
        if "query" in fields:
            record["query"] = fields["query"].decode("latin-1")
        return record

    def counts(self, now: float | None = None) -> tuple[dict[str, int], dict[str, int]]:
        """Stored events by status and by source: one ZCOUNT per status and per source over the
        retention, whatever the number of events, and exact (an expired event is outside the range)."""
        low = repr((time.time() if now is None else now) - self._retention)
        sources = sorted(m.decode() for m in self._client.smembers(keys.SOURCES))  # type: ignore[union-attr]
        with self._client.pipeline(transaction=False) as pipe:
            for status in STATUSES:
                pipe.zcount(keys.status_index(status), low, "+inf")
            for source in sources:
                pipe.zcount(keys.source_index(source), low, "+inf")
            found = [int(n) for n in pipe.execute()]
        by_status = {status: n for status, n in zip(STATUSES, found, strict=False) if n}
        by_source = {source: n for source, n in zip(sources, found[len(STATUSES) :], strict=True) if n}
        return by_status, by_source

    def oldest_received(self, now: float | None = None) -> float | None:
        low = repr((time.time() if now is None else now) - self._retention)
        oldest: list[tuple[bytes, float]] = self._client.zrangebyscore(  # type: ignore[assignment]
            keys.INDEX_ALL, low, "+inf", start=0, num=1, withscores=True
        )
        return oldest[0][1] if oldest else None

    def stored(self, now: float | None = None) -> int:
        low = repr((time.time() if now is None else now) - self._retention)
        return int(self._client.zcount(keys.INDEX_ALL, low, "+inf"))

    def activity(self, sources: Sequence[str], *, now: float, minutes: int = 60) -> Activity:
        """Events received per minute and source over the last ``minutes`` (the current minute last)."""
        end = (now // 60 + 1) * 60
        starts = [end - (minutes - i) * 60 for i in range(minutes)]
        with self._client.pipeline(transaction=False) as pipe:
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
        read = 0
        walk = newest_first(self._client, keys.INDEX_ALL, since=since, batch=1000)
        while read < limit:
            batch = [item for item in (next(walk, None) for _ in range(min(1000, limit - read))) if item]
            if not batch:
                return StatusCounts(by_status, read, complete=True)
            with self._client.pipeline(transaction=False) as pipe:
                for event_id, _ in batch:
                    pipe.hget(keys.event(event_id), "status")
                statuses: list[bytes | None] = pipe.execute()
            for status in statuses:
                if status is not None:
                    by_status[status.decode()] = by_status.get(status.decode(), 0) + 1
            read += len(batch)
        return StatusCounts(by_status, read, complete=next(walk, None) is None)


def request_of(
    source: bytes | None, body: bytes | None, headers: bytes | None, query: bytes | None
) -> Request | None:
    """A stored event's fields as filters see them: the path is the source's receiving route."""
    if source is None or body is None:
        return None
    pairs: list[tuple[str, str]] = msgspec.json.decode(headers or b"[]", type=list[tuple[str, str]])
    return Request(body, pairs, (query or b"").decode("latin-1"), f"/webhooks/{source.decode()}")
