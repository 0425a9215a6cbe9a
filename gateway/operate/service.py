"""What operators do with stored events, dead letters and issues; the CLI, the admin API and the
dashboard all call this, with records of one JSON shape each (``record()``).

Enqueueing (replay, a dead letter's retry) declares the actors on a broker of its own but loads no
consumer module: a consumer's retry settings are applied where its message is processed, and the names
of the consumers that exist are what the workers announce (``keys.KNOWN_CONSUMERS``) and the configured
``[[forward]]`` entries.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

import dramatiq
import redis
from psycopg_pool import ConnectionPool

from gateway.alerts.issues import Issues
from gateway.config.settings import Settings
from gateway.operate.filters import BadRequest
from gateway.platform.timeparse import rfc3339
from gateway.record.reads import RecordEvents
from gateway.record.writer import connect_pool
from gateway.store import keys
from gateway.store.dlq import DeadLetter, DeadLetterFilter, DeadLetters
from gateway.store.events import EventFilter, EventStore, EventSummary
from gateway.store.ledger import Ledger
from gateway.store.paging import Cursor
from gateway.worker.actors import Actors, declare_actors


class Operations:
    """Events, dead letters and issues as operators see them."""

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        *,
        actors: Actors | None = None,
        record: ConnectionPool | None = None,
    ) -> None:
        self.client = client
        self.ledger = Ledger(client)
        retention = settings.retention.events_seconds
        #: Where events are read: the record when it is on (``record`` is its pool), else Redis.
        self.events: EventStore | RecordEvents = (
            EventStore(client, retention) if record is None else RecordEvents(client, record, retention)
        )
        self.has_record = record is not None
        self._record = record
        enqueue = (lambda e, c: actors.resend(e, c)) if actors is not None else None
        self.dead_letters = DeadLetters(client, self.ledger, enqueue, self.events.restore)
        self.issues = Issues(client, self.dead_letters)
        self._forwards = frozenset(forward.name for forward in settings.forward)
        #: Present when built to enqueue (replay, dead-letter retry, bulk replay).
        self.actors = actors
        self.replay_job: dramatiq.Actor[..., None] | None = None

    def close(self) -> None:
        """Close the record's connections (Redis's close with their client)."""
        if self._record is not None:
            self._record.close()

    # Events

    def check_filter(self, where: EventFilter) -> None:
        """BadRequest for a payload or header search without the record to search."""
        if where.searches and not self.has_record:
            field = "match" if where.match is not None else "header"
            raise BadRequest(field, "payload and header search need the record ([record] url, PostgreSQL)")

    def iter_events(self, where: EventFilter, *, after: Cursor | None = None) -> Iterator[EventSummary]:
        self.check_filter(where)
        return (summary for summary, _ in self.events.iter(where, after=after))

    def list_events(
        self, where: EventFilter, *, limit: int = 50, after: Cursor | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self.check_filter(where)
        items, cursor = self.events.page(where, limit=limit, after=after)
        return [item.record() for item in items], None if cursor is None else str(cursor)

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        """Metadata, headers, body (text when UTF-8, always base64), consumer states and attempts."""
        record = self.events.get(event_id)
        if record is None:
            return None
        if "consumers" in record:  # archived: the record keeps them
            return record
        record["consumers"] = self.ledger.states(event_id)
        record["attempts"] = [
            {**attempt, "at": rfc3339(attempt["at"])} for attempt in self.ledger.attempts(event_id)
        ]
        return record

    def stats(self) -> dict[str, Any]:
        """Counts by status and source (from counters: constant time), the oldest event, the dead-letter
        queue's size and age, and the reconciler's repairs."""
        by_status, by_source = self.events.counts()
        oldest = self.events.oldest_received()
        return {
            "events": sum(by_status.values()),
            "by_status": by_status,
            "by_source": by_source,
            "oldest_event_at": rfc3339(oldest) if oldest is not None else None,
            **self.dead_letter_summary(),
            "reconciler_repairs": int(self.client.get(keys.REPAIRS) or 0),
        }

    def dead_letter_summary(self) -> dict[str, Any]:
        """The dead-letter queue's size and when its oldest entry failed."""
        oldest: list[tuple[bytes, float]] = self.client.zrange(keys.DLQ_INDEX, 0, 0, withscores=True)  # type: ignore[assignment]
        return {
            "dlq_size": self.dead_letters.size(),
            "oldest_dlq_at": rfc3339(oldest[0][1]) if oldest else None,
        }

    def failing_consumers(self, *, now: float, window: float, limit: int = 10) -> list[dict[str, Any]]:
        """Consumers with dead letters from the last ``window`` seconds, the most first, with the time of
        their oldest one."""
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

    # Replays

    def check_consumer(self, name: str) -> None:
        """BadRequest unless ``name`` is a configured forward or a consumer a worker announced."""
        if name in self._forwards or self.client.sismember(keys.KNOWN_CONSUMERS, name):
            return
        reason = f"no consumer named {name!r} (not a [[forward]], and no worker runs one)"
        raise BadRequest("consumer", reason)

    def replay(
        self, event_ids: Iterable[str], *, force: bool = False, consumer: str | None = None
    ) -> Iterator[str]:
        """Enqueue each stored event again, yielding its id once sent (ids of gone events are skipped).

        By default consumers that already succeeded are skipped; ``force`` re-runs them all, as the n-th
        forced replay of the event, whose consumers see the idempotency key ``{event}:{consumer}:r{n}``.
        ``consumer`` limits the replay to that consumer. Needs an instance built to enqueue.
        """
        if self.actors is None:
            raise RuntimeError("Operations was built without a way to enqueue")
        if consumer is not None:
            self.check_consumer(consumer)
        for event_id in event_ids:
            if not self.events.restore(event_id):  # archived events come back into the hot path first
                continue
            routing = self.events.routing(event_id)
            if routing is None:
                continue
            replay = self._next_forced_replay(event_id) if force else 0
            self.ledger.apply([Ledger.status_op(event_id, "queued")])
            if consumer is not None:
                self.actors.send_to(event_id, consumer, replay)
            else:
                self.actors.replay(event_id, routing[0], routing[1], replay)
            yield event_id

    def _next_forced_replay(self, event_id: str) -> int:
        """n for the n-th forced replay (kept as long as the event)."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(keys.forced_replays(event_id))
            pipe.pexpire(
                keys.forced_replays(event_id), max(int(self.client.pttl(keys.event(event_id))), 1000)
            )
            return int(pipe.execute()[0])

    # Dead letters

    def list_dead_letters(
        self, where: DeadLetterFilter, *, limit: int = 50, after: Cursor | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        items, cursor = self.dead_letters.list(where, limit=limit, after=after)
        return [_dead_letter_record(entry) for entry in items], None if cursor is None else str(cursor)

    def get_dead_letter(self, entry_id: str) -> dict[str, Any] | None:
        entry = self.dead_letters.get(entry_id)
        if entry is None:
            return None
        return {"history": [], **_dead_letter_record(entry)}


def _dead_letter_record(entry: DeadLetter) -> dict[str, Any]:
    """A dead letter's one JSON shape (CLI ``--json``, the API, the dashboard): traceback included; its
    attempt history when read one at a time."""
    record = asdict(entry)
    record["failed_at"] = rfc3339(entry.failed_at)
    history = record.pop("history")
    if entry.history:
        record["history"] = [{**attempt, "at": rfc3339(attempt["at"])} for attempt in history]
    return record


class Services:
    """The operations a web process needs, built on first use: one to read, one that can also enqueue
    (its broker and actors cost a little; reading never needs them)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()

    @functools.cached_property
    def reader(self) -> Operations:
        return build_operations(self._settings)

    @functools.cached_property
    def writer(self) -> Operations:
        with self._lock:
            return build_operations(self._settings, can_enqueue=True)


def build_operations(settings: Settings, *, can_enqueue: bool = False) -> Operations:
    """The service on the configured Redis; with ``can_enqueue`` it declares the actors on a broker of
    its own (no consumer module is imported)."""
    import consumers
    from gateway.platform import connections
    from gateway.worker.broker import build_broker

    client = connections.sync_client(settings.redis, timeout=10)
    record = connect_pool(settings) if settings.record is not None else None
    if not can_enqueue:
        return Operations(client, settings, record=record)
    from gateway.operate.jobs import declare_replay_job

    broker = build_broker(settings, client)
    events = EventStore(client, settings.retention.events_seconds)
    actors = declare_actors(broker, events, consumers.Registry(), Ledger(client), broker)
    operations = Operations(client, settings, actors=actors, record=record)
    operations.replay_job = declare_replay_job(broker, operations)
    return operations
