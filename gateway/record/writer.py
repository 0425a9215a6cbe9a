"""The record's writer: copies new and changed events from Redis to PostgreSQL in batches, then lets the
settled ones cool in Redis; creates daily partitions as needed and drops those past the retention.

One process at a time writes (any worker; a Redis lease elects it), so the counts per day, source and
status can be kept by difference without racing. Every step is idempotent: an event is upserted on its
id, and it leaves ``hg:record:pending`` only when it did not change again while being written. While
PostgreSQL is away nothing leaves Redis: events wait there (at their full retention) and the backlog
grows, which ``hookgate_record_backlog``, ``/readyz`` and ``check-config`` show.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dramatiq
import psycopg
import redis
import structlog
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from gateway.config import Settings
from gateway.platform.periodic import Periodic
from gateway.record import schema
from gateway.store import keys, scripts
from gateway.store.lease import Lease

log = structlog.get_logger("hookgate.record")

SETTLED = frozenset({"processed", "dead", "unrouted", "filtered"})
_COLUMNS = (
    "id, received_at, source, delivery_id, event_type, status, deliveries, headers, body, "
    "dedupe_basis, traceparent, consumers, attempts"
)
_UPSERT = f"""
INSERT INTO hookgate_events ({_COLUMNS}, body_json)
SELECT {_COLUMNS}, hookgate_body_json(body) FROM hookgate_incoming
ON CONFLICT (received_at, id) DO UPDATE SET
    status = excluded.status, deliveries = excluded.deliveries, traceparent = excluded.traceparent,
    consumers = excluded.consumers, attempts = excluded.attempts, written_at = now()
"""
_COUNT = """
INSERT INTO hookgate_event_counts (day, source, status, events) VALUES (%s, %s, %s, %s)
ON CONFLICT (day, source, status) DO UPDATE SET events = hookgate_event_counts.events + excluded.events
"""


def _prepare_writer(conn: psycopg.Connection) -> None:
    """Each writer connection's staging table for a batch (temporary, emptied at every commit), and lz4
    for what it compresses (bodies and their JSON: several times faster than the default pglz) where the
    server has it."""
    try:
        conn.execute("SET default_toast_compression = 'lz4'")
    except psycopg.errors.InvalidParameterValue:
        conn.rollback()  # a server built without lz4 keeps pglz
    conn.execute(
        "CREATE TEMPORARY TABLE hookgate_incoming (LIKE hookgate_events INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    conn.commit()


def connect_pool(
    settings: Settings, *, min_size: int = 1, open_wait: bool = False, writer: bool = False
) -> ConnectionPool:
    """A connection pool on the record (UTC sessions); opened without waiting unless ``open_wait``, so a
    process starts while PostgreSQL is down and connects once it is back. ``writer`` pools stage batches
    in a temporary table of each connection."""
    assert settings.record is not None
    record = settings.record
    pool = ConnectionPool(
        record.dsn(),
        min_size=min_size,
        max_size=max(record.pool_size, min_size),
        timeout=record.timeout_seconds,
        kwargs={"options": "-c TimeZone=UTC", "connect_timeout": max(1, int(record.timeout_seconds))},
        open=False,
        name="hookgate-record",
        configure=_prepare_writer if writer else None,
    )
    pool.open(wait=open_wait, timeout=record.timeout_seconds)
    return pool


def day_of(received_at: float) -> dt.date:
    return dt.datetime.fromtimestamp(received_at, dt.UTC).date()


def partition_name(day: dt.date) -> str:
    return f"hookgate_events_{day:%Y%m%d}"


def ensure_partition(conn: psycopg.Connection, day: dt.date) -> None:
    """The day's partition (UTC midnight to midnight), created if missing."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF hookgate_events "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{(start + dt.timedelta(days=1)).isoformat()}')"
    )


def drop_expired(conn: psycopg.Connection, retention_seconds: float, now: float) -> list[str]:
    """Drop every partition (and its counts) whose whole day is older than the retention."""
    cutoff = day_of(now - retention_seconds)
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'hookgate_events'::regclass"
    ).fetchall()
    dropped = []
    for (name,) in rows:
        try:
            day = dt.datetime.strptime(name.removeprefix("hookgate_events_"), "%Y%m%d").date()
        except ValueError:
            continue
        if day < cutoff:
            with conn.transaction():
                conn.execute(f"DROP TABLE {name}")
                conn.execute("DELETE FROM hookgate_event_counts WHERE day = %s", (day,))
            dropped.append(name)
    return dropped


#: What jsonb refuses in JSON text: a NUL escape, or half of a surrogate pair (checked further).
_JSONB_SUSPECT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def jsonb_safe(text: str) -> str:
    """JSON text (headers, attempt records: an exception's message may hold anything) that jsonb takes:
    NULs become U+FFFD and lone surrogates "?". Untouched in the usual case, found with one regex."""
    if not _JSONB_SUSPECT.search(text):
        return text

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
        if isinstance(value, list):
            return [clean(item) for item in value]
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        return value

    cleaned = json.dumps(clean(json.loads(text)), ensure_ascii=False)
    return cleaned.encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class Row:
    """One event as the record holds it."""

    event_id: str
    received_at: float
    source: str
    delivery_id: str | None
    event_type: str | None
    status: str
    deliveries: int
    headers: str
    body: bytes
    dedupe_basis: str
    traceparent: str | None
    consumers: str
    attempts: str

    @classmethod
    def from_redis(
        cls, event_id: str, event: dict[bytes, bytes], states: dict[bytes, bytes], attempts: list[bytes]
    ) -> Row:
        def text(name: str) -> str:
            return event.get(name.encode(), b"").decode("utf-8", "replace")

        body = event.get(b"body", b"")
        return cls(
            event_id=event_id,
            received_at=float(text("received_at") or 0),
            source=text("source"),
            delivery_id=text("delivery_id") or None,
            event_type=text("event_type") or None,
            status=text("status") or "queued",
            deliveries=int(text("deliveries") or 1),
            headers=jsonb_safe(text("headers") or "[]"),
            body=body,
            dedupe_basis=text("dedupe_basis"),
            traceparent=text("traceparent") or None,
            consumers=json.dumps({k.decode(): v.decode() for k, v in states.items()}),
            attempts=jsonb_safe("[" + ",".join(item.decode("utf-8", "replace") for item in attempts) + "]"),
        )

    def values(self) -> tuple[Any, ...]:
        """The columns for a binary COPY (``_COPY_TYPES``); JSON goes as the text it already is."""
        return (
            self.event_id,
            dt.datetime.fromtimestamp(self.received_at, dt.UTC),
            self.source,
            self.delivery_id,
            self.event_type,
            self.status,
            self.deliveries,
            Jsonb(self.headers, dumps=_as_is),
            self.body,
            self.dedupe_basis,
            self.traceparent,
            Jsonb(self.consumers, dumps=_as_is),
            Jsonb(self.attempts, dumps=_as_is),
        )


def _as_is(text: Any) -> str:
    return str(text)


_COPY_TYPES = [
    "text",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "int4",
    "jsonb",
    "bytea",
    "text",
    "text",
    "jsonb",
    "jsonb",
]


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    """A hash as HGETALL answers it inside a script: field, value, field, value..."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


@dataclass(frozen=True)
class Batch:
    """Pending changes (event id, score as read) and the rows of the events still in Redis."""

    pending: list[tuple[bytes, bytes]]
    rows: list[Row]


class RecordWriter:
    """Moves pending events from Redis to the record, a batch at a time."""

    def __init__(
        self,
        client: redis.Redis,
        pool: ConnectionPool,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert settings.record is not None
        self.client = client
        self.pool = pool
        self.batch = settings.record.batch
        self.hot_ms = max(settings.record.hot_seconds * 1000, 1)
        self.retention_seconds = settings.retention.events_seconds
        self.clock = clock
        self._archived = scripts.register(client, "archived")
        self._collect = scripts.register(client, "collect")
        self._partitions: set[dt.date] = set()
        self._last_drop = 0.0
        self._checked = False

    def backlog(self) -> int:
        """Events not yet in the record (new or changed since written)."""
        return int(self.client.zcard(keys.RECORD_PENDING))

    def drain(self, *, deadline: float | None = None) -> int:
        """Write batches until caught up (or past ``deadline``, a ``time.monotonic`` value); the number
        of events written. Reading the next batch from Redis overlaps writing this one to PostgreSQL
        (one write at a time, so the counts have one writer)."""
        self.check_schema()
        written = 0
        with ThreadPoolExecutor(1, thread_name_prefix="hookgate-record") as executor:
            flight: Future[int] | None = None
            in_flight: frozenset[bytes] = frozenset()
            while True:
                batch = self._read(exclude=in_flight)
                if flight is not None:
                    written += flight.result()
                    flight, in_flight = None, frozenset()
                if not batch.pending:
                    return written
                in_flight = frozenset(member for member, _ in batch.pending)
                flight = executor.submit(self._commit, batch)
                if len(batch.pending) < self.batch or (deadline is not None and time.monotonic() > deadline):
                    return written + flight.result()

    def check_schema(self) -> None:
        """SchemaError unless the record's schema is the one this hookgate knows (checked once)."""
        if not self._checked:
            with self.pool.connection() as conn:
                schema.check(conn)
            self._checked = True

    def write_batch(self) -> int:
        """One batch: read it from Redis, upsert it in one transaction, then let Redis forget it."""
        self.check_schema()
        return self._commit(self._read())

    def _read(self, exclude: frozenset[bytes] = frozenset()) -> Batch:
        """The oldest pending changes (but those in ``exclude``, being written) and their events."""
        pending: list[tuple[bytes, bytes]] = self.client.zrange(  # type: ignore[assignment]
            keys.RECORD_PENDING, 0, self.batch + len(exclude) - 1, withscores=True, score_cast_func=bytes
        )
        pending = [item for item in pending if item[0] not in exclude][: self.batch]
        if not pending:
            return Batch([], [])
        found = self._collect(keys=[], args=[member for member, _ in pending])
        rows = [
            Row.from_redis(member.decode(), _pairs(event), _pairs(states), attempts)
            for (member, _), (event, states, attempts) in zip(pending, found, strict=True)
            if event  # gone from Redis (expired unwritten, past its retention): nothing to keep
        ]
        return Batch(pending, rows)

    def _commit(self, batch: Batch) -> int:
        """Write the batch, then let Redis forget each change that did not move on meanwhile."""
        if not batch.pending:
            return 0
        if batch.rows:
            self._write(batch.rows)
        args: list[Any] = [self.hot_ms]
        for member, score in batch.pending:
            args.extend((member, score))
        self._archived(keys=[], args=args)
        return len(batch.rows)

    def _write(self, rows: Sequence[Row]) -> None:
        with self.pool.connection() as conn:
            for day in {day_of(row.received_at) for row in rows} - self._partitions:
                with conn.transaction():
                    ensure_partition(conn, day)
                self._partitions.add(day)
            self._upsert(conn, rows)

    def _upsert(self, conn: psycopg.Connection, rows: Sequence[Row]) -> None:
        with conn.transaction():
            # The statuses these events had in the record, for the counts (the received_at range keeps
            # the search to the batch's partitions).
            received = [row.received_at for row in rows]
            old: dict[str, str] = dict(
                conn.execute(
                    "SELECT id, status FROM hookgate_events "
                    "WHERE id = ANY(%s) AND received_at BETWEEN %s AND %s",
                    (
                        [row.event_id for row in rows],
                        dt.datetime.fromtimestamp(min(received), dt.UTC),
                        dt.datetime.fromtimestamp(max(received), dt.UTC),
                    ),
                ).fetchall()
            )
            with conn.cursor().copy(
                f"COPY hookgate_incoming ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_COPY_TYPES)
                for row in rows:
                    copy.write_row(row.values())
            conn.execute(_UPSERT)
            deltas: Counter[tuple[dt.date, str, str]] = Counter()
            for row in rows:
                day = day_of(row.received_at)
                previous = old.get(row.event_id)
                if previous == row.status:
                    continue
                if previous is not None:
                    deltas[(day, row.source, previous)] -= 1
                deltas[(day, row.source, row.status)] += 1
            changed = [(day, source, status, n) for (day, source, status), n in deltas.items() if n]
            if changed:
                conn.cursor().executemany(_COUNT, changed)

    def housekeep(self) -> list[str]:
        """Today's and tomorrow's partitions made ahead, and those past the retention dropped (hourly)."""
        now = self.clock()
        if now - self._last_drop < 3600:
            return []
        self.check_schema()
        with self.pool.connection() as conn:
            for day in (day_of(now), day_of(now + 86400)):
                with conn.transaction():
                    ensure_partition(conn, day)
                self._partitions.add(day)
            dropped = drop_expired(conn, self.retention_seconds, now)
        self._partitions = {day for day in self._partitions if day >= day_of(now - self.retention_seconds)}
        self._last_drop = now
        if dropped:
            log.info("record: partitions past the retention dropped", partitions=dropped)
        return dropped


class RecordService(Periodic):
    """Runs the writer on the worker that holds the ``record`` lease; the others stand by. A PostgreSQL
    outage is logged when it starts and when it ends."""

    name = "record"

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        assert settings.record is not None
        super().__init__(settings.record.interval_seconds)
        self.client = client
        self.settings = settings
        self.lease = Lease(client, "record", ttl_seconds=max(10 * self.interval, 10.0))
        self._writer: RecordWriter | None = None
        self._pool: ConnectionPool | None = None
        self._down = False

    def start(self) -> None:
        self.client.set(keys.RECORD_ON, "1")
        self._pool = connect_pool(self.settings, writer=True)
        self._writer = RecordWriter(self.client, self._pool, self.settings)
        super().start()

    def stop(self) -> None:
        super().stop()
        if self._pool is not None:
            self._pool.close(timeout=1)

    def tick(self) -> None:
        assert self._writer is not None
        if not self.lease.acquire():
            return
        try:
            self._writer.housekeep()
            self._writer.drain(deadline=time.monotonic() + self.lease.ttl_ms / 2000)
        except schema.SchemaError as exc:
            if not self._down:
                log.error("record writer stopped: " + str(exc), backlog=self._writer.backlog())
            self._down = True
            return
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if not self._down:
                log.warning(
                    "record writer paused: postgresql is unavailable; events wait in redis",
                    error_type=type(exc).__name__,
                    error=str(exc).splitlines()[0] if str(exc) else "",
                    backlog=self._writer.backlog(),
                )
            self._down = True
            return
        if self._down:
            log.info("record writer resumed", backlog=self._writer.backlog())
        self._down = False

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        super().before_worker_shutdown(broker, worker)
        with contextlib.suppress(redis.RedisError):
            self.lease.release()


def announce(client: redis.Redis, settings: Settings) -> None:
    """Tell the Lua scripts whether to track changes for the record (``hg:record:on``)."""
    if settings.record is not None:
        client.set(keys.RECORD_ON, "1")
    else:
        client.delete(keys.RECORD_ON)


__all__ = ["RecordService", "RecordWriter", "Row", "announce", "connect_pool"]
