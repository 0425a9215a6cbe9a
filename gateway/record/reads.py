"""Events as operators read them when the record is on: lists, counts and payload search from
PostgreSQL; one event from Redis while it is hot (fresher than the record by up to the writer's
interval), else from the record, in the same shape. ``restore`` brings an archived event back into the
hot path, exactly as it was received, for a replay or a dead letter's retry."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import redis
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from gateway.platform.timeparse import rfc3339
from gateway.store import keys, scripts
from gateway.store.events import STATUSES, Activity, EventFilter, EventStore, EventSummary, StatusCounts
from gateway.store.paging import Cursor, take

_SUMMARY = "id, extract(epoch FROM received_at), source, delivery_id, event_type, status, deliveries"
_BATCH = 500


def _ts(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def glob_to_like(pattern: str) -> str | None:
    """An ``event_type`` glob as a LIKE pattern (``*`` and ``?``), None when it has character classes
    (those are matched in Python)."""
    if "[" in pattern:
        return None
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


class RecordEvents:
    """The same reads as ``EventStore`` (Redis only), from the record."""

    def __init__(self, client: redis.Redis, pool: ConnectionPool, retention_seconds: float) -> None:
        self.client = client
        self.pool = pool
        self.hot = EventStore(client, retention_seconds)
        self._retention = retention_seconds
        self._restore = scripts.register(client, "restore")

    # What the worker and the replays route on: only hot events are routed.

    def routing(self, event_id: str) -> tuple[str, str | None] | None:
        return self.hot.routing(event_id)

    # Lists

    def _where(self, where: EventFilter, after: Cursor | None) -> tuple[str, list[Any]]:
        clauses = ["received_at >= %s"]
        params: list[Any] = [_ts(max(where.since or 0, time.time() - self._retention))]
        if where.until is not None:
            clauses.append("received_at <= %s")
            params.append(_ts(where.until))
        if where.source:
            clauses.append("source = %s")
            params.append(where.source)
        if where.status:
            clauses.append("status = %s")
            params.append(where.status)
        if where.event_type:
            like = glob_to_like(where.event_type)
            if like is not None:
                clauses.append("event_type LIKE %s")
                params.append(like)
        if where.consumer:
            clauses.append("consumers ? %s")
            params.append(where.consumer)
        if where.match is not None:
            clauses.append("body_json @> %s::jsonb")
            params.append(where.match)
        if where.headers:
            clauses.append("headers @> %s::jsonb")
            params.append(json.dumps([[name.lower(), value] for name, value in where.headers]))
        if after is not None:
            clauses.append("(received_at, id) < (%s, %s)")
            params.extend((_ts(after.score), after.member))
        return " AND ".join(clauses), params

    def iter(
        self, where: EventFilter, *, after: Cursor | None = None
    ) -> Iterator[tuple[EventSummary, Cursor]]:
        """Matching events, newest first, each with the cursor that resumes after it; read in batches
        by keyset (``(received_at, id)``), so memory stays flat and no tie is skipped."""
        while True:
            sql, params = self._where(where, after)
            with self.pool.connection() as conn:
                rows = conn.execute(
                    f"SELECT {_SUMMARY} FROM hookgate_events WHERE {sql} "
                    f"ORDER BY received_at DESC, id DESC LIMIT {_BATCH}",
                    params,
                ).fetchall()
            for event_id, received, source, delivery_id, event_type, status, deliveries in rows:
                summary = EventSummary(
                    event_id, source, delivery_id, event_type, status, float(received), deliveries
                )
                # The record keeps microseconds; the cursor keeps them too (repr round-trips a float).
                after = Cursor(float(received), event_id)
                if summary.matches(where):
                    yield summary, after
            if len(rows) < _BATCH:
                return

    def page(
        self, where: EventFilter, *, limit: int = 50, after: Cursor | None = None
    ) -> tuple[list[EventSummary], Cursor | None]:
        return take(self.iter(where, after=after), limit)

    # One event

    def get(self, event_id: str) -> dict[str, Any] | None:
        """The event as ``EventStore.get`` shows it (plus ``consumers`` and ``attempts`` when archived)."""
        hot = self.hot.get(event_id)
        if hot is not None:
            return hot
        row = self._row(event_id)
        if row is None:
            return None
        record = EventSummary(
            event_id,
            row["source"],
            row["delivery_id"],
            row["event_type"],
            row["status"],
            float(row["received"]),
            row["deliveries"],
        ).record()
        body = bytes(row["body"])
        try:
            text: str | None = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        record["headers"] = row["headers"]
        record["body"] = text
        record["body_base64"] = base64.b64encode(body).decode()
        record["consumers"] = row["consumers"]
        record["attempts"] = [{**attempt, "at": rfc3339(attempt["at"])} for attempt in row["attempts"]]
        return record

    def _row(self, event_id: str) -> dict[str, Any] | None:
        """The archived event's columns; the id's time (``evt_`` + ms) narrows the search to its day."""
        clauses: list[str] = ["id = %s"]
        params: list[Any] = [event_id]
        millis = _millis(event_id)
        if millis is not None:
            clauses.append("received_at BETWEEN %s AND %s")
            params.extend((_ts(millis / 1000 - 1), _ts(millis / 1000 + 1)))
        clauses.append("received_at >= %s")
        params.append(_ts(time.time() - self._retention))
        query = (
            "SELECT source, delivery_id, event_type, status, extract(epoch FROM received_at) AS received,"
            " deliveries, headers, body, dedupe_basis, traceparent, consumers, attempts"
            f" FROM hookgate_events WHERE {' AND '.join(clauses)} LIMIT 1"
        )
        with self.pool.connection() as conn:
            return conn.cursor(row_factory=dict_row).execute(query, params).fetchone()

    def restore(self, event_id: str) -> bool:
        """Make the event hot again (a no-op when it is): False when it is in neither store."""
        if self.client.exists(keys.event(event_id)):
            return True
        row = self._row(event_id)
        if row is None:
            return False
        received = float(row["received"])
        ttl_ms = int((received + self._retention - time.time()) * 1000)
        if ttl_ms <= 0:
            return False
        fields: dict[str, Any] = {
            "source": row["source"],
            "delivery_id": row["delivery_id"] or "",
            "event_type": row["event_type"] or "",
            "received_at": repr(received),
            "headers": json.dumps(row["headers"], separators=(",", ":")),
            "body": bytes(row["body"]),
            "dedupe_basis": row["dedupe_basis"],
            "status": row["status"],
            "deliveries": row["deliveries"],
        }
        if row["traceparent"]:
            fields["traceparent"] = row["traceparent"]
        args: list[Any] = [event_id, ttl_ms, len(fields)]
        for name, value in fields.items():
            args.extend((name, value))
        args.append(json.dumps(row["consumers"]))
        args.append(json.dumps([json.dumps(a, separators=(",", ":")) for a in row["attempts"]]))
        self._restore(keys=[], args=args)
        return True

    # Counts

    def counts(self, now: float | None = None) -> tuple[dict[str, int], dict[str, int]]:
        """By status and by source, from the writer's counts per day: a few hundred rows, whatever the
        number of events (whole days; the oldest day may still hold a few events past the retention)."""
        low = _ts((time.time() if now is None else now) - self._retention).date()
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT source, status, sum(events) FROM hookgate_event_counts WHERE day >= %s "
                "GROUP BY source, status",
                (low,),
            ).fetchall()
        by_status: dict[str, int] = {}
        by_source: dict[str, int] = {}
        for source, status, n in rows:
            if n:
                by_status[status] = by_status.get(status, 0) + int(n)
                by_source[source] = by_source.get(source, 0) + int(n)
        order = {status: i for i, status in enumerate(STATUSES)}
        by_status = dict(sorted(by_status.items(), key=lambda item: order.get(item[0], len(order))))
        return by_status, dict(sorted(by_source.items()))

    def oldest_received(self, now: float | None = None) -> float | None:
        low = _ts((time.time() if now is None else now) - self._retention)
        with self.pool.connection() as conn:
            found = conn.execute(
                "SELECT extract(epoch FROM received_at) FROM hookgate_events WHERE received_at >= %s "
                "ORDER BY received_at LIMIT 1",
                (low,),
            ).fetchone()
        return float(found[0]) if found else None

    def stored(self, now: float | None = None) -> int:
        return sum(self.counts(now)[0].values())

    def activity(self, sources: Sequence[str], *, now: float, minutes: int = 60) -> Activity:
        """Events received per minute and source over the last ``minutes`` (the current minute last)."""
        end = (now // 60 + 1) * 60
        starts = [end - (minutes - i) * 60 for i in range(minutes)]
        per_source = {source: [0] * minutes for source in sources}
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT source, floor(extract(epoch FROM received_at) / 60) * 60 AS minute, count(*) "
                "FROM hookgate_events WHERE received_at >= %s AND received_at < %s AND source = ANY(%s) "
                "GROUP BY 1, 2",
                (_ts(starts[0]), _ts(end), list(sources)),
            ).fetchall()
        for source, minute, n in rows:
            index = int((float(minute) - starts[0]) // 60)
            if 0 <= index < minutes:
                per_source[source][index] = int(n)
        return Activity(starts, per_source)

    def recent_statuses(self, *, since: float, limit: int = 100_000) -> StatusCounts:
        """Counts by status of the events received since ``since`` (all of them: one indexed query)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT status, count(*) FROM hookgate_events WHERE received_at >= %s GROUP BY status",
                (_ts(since),),
            ).fetchall()
        by_status = {status: int(n) for status, n in rows}
        return StatusCounts(by_status, sum(by_status.values()), complete=True)


def _millis(event_id: str) -> int | None:
    """The receipt time (ms) an event id carries (``evt_`` + 12 hex digits of ms + 16 random)."""
    if not event_id.startswith("evt_") or len(event_id) != 32:
        return None
    try:
        return int(event_id[4:16], 16)
    except ValueError:
        return None
