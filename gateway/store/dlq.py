"""The dead-letter queue: one entry per (event, consumer) whose retries ran out or that was rejected.

``hg:dlq`` is a sorted set of entry ids by failure time; ``hg:dlq:{id}`` holds the entry. Entries expire
with their event (a dead letter whose body is gone cannot be retried). This is the store-level API that
the CLI, the admin API and the dashboard build on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

import redis

from gateway.store import keys
from gateway.store.issues import issue_fields
from gateway.store.ledger import Ledger, Operation, failure_record, text
from gateway.store.paging import Cursor, newest_first, take

Enqueue = Callable[[str, str], None]


def entry_id(event_id: str, consumer: str) -> str:
    """Stable per (event, consumer): a second death of the same pair updates its entry."""
    return "dlq_" + hashlib.sha256(f"{event_id}\0{consumer}".encode()).hexdigest()[:24]


def dead_letter_op(
    event_id: str,
    consumer: str,
    error_type: str,
    error: str,
    traceback: str,
    attempts: int,
    *,
    rejected: bool = False,
    at: float | None = None,
) -> Operation:
    """The entry (kept as long as its event, at least a day, so the failure stays visible), its indexes,
    and the consumer marked dead with its last attempt, so a ``dead`` status always has its entry."""
    when = time.time() if at is None else at
    record = failure_record(consumer, attempts, error, rejected=rejected, traceback=traceback, at=when)
    issue = (
        issue_fields(event_id, consumer, error_type, text(error)) if consumer != keys.DISPATCH_ACTOR else None
    )
    return {
        "op": "dead_letter",
        "event": event_id,
        "consumer": consumer,
        "entry": entry_id(event_id, consumer),
        "error_type": error_type,
        "error": text(error),
        "traceback": text(traceback),
        "attempts": attempts,
        "failed_at": repr(when),
        "attempt": record.encode(),
        **({"issue": issue} if issue else {}),
    }


@dataclass(frozen=True)
class DeadLetter:
    """One entry: the last failure of an (event, consumer), and with ``get`` that consumer's attempts."""

    id: str
    event_id: str
    consumer: str
    source: str
    event_type: str | None
    error_type: str
    error: str
    traceback: str
    attempts: int
    failed_at: float
    issue: str | None = None
    #: Every attempt of this consumer on this event, oldest first (``get(history=True)`` only).
    history: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> DeadLetter:
        fields = {k.decode(): v.decode(errors="replace") for k, v in raw.items()}
        return cls(
            id=fields["id"],
            event_id=fields["event_id"],
            consumer=fields["consumer"],
            source=fields.get("source", ""),
            event_type=fields.get("event_type") or None,
            error_type=fields.get("error_type", ""),
            error=fields.get("error", ""),
            traceback=fields.get("traceback", ""),
            attempts=int(fields["attempts"]),
            failed_at=float(fields["failed_at"]),
            issue=fields.get("issue") or None,
        )


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which entries an operation applies to; every field is optional. ``q`` searches the error text."""

    source: str | None = None
    consumer: str | None = None
    event_type: str | None = None
    q: str | None = None
    since: float | None = None
    until: float | None = None

    def matches(self, entry: DeadLetter) -> bool:
        if self.source and entry.source != self.source:
            return False
        if self.consumer and entry.consumer != self.consumer:
            return False
        if self.event_type and not fnmatchcase(entry.event_type or "", self.event_type):
            return False
        return not (self.q and self.q.lower() not in entry.error.lower())


class DeadLetters:
    """List, inspect, retry, discard and purge dead letters."""

    def __init__(
        self,
        client: redis.Redis,
        ledger: Ledger,
        enqueue: Enqueue | None = None,
        restore: Callable[[str], bool] | None = None,
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._enqueue = enqueue
        #: Brings an event the record archived back into Redis before its entry is retried or discarded.
        self._restore = restore

    def add(
        self,
        *,
        event_id: str,
        consumer: str,
        error_type: str,
        error: str,
        traceback: str,
        attempts: int,
        rejected: bool = False,
    ) -> str:
        """Write the dead letter of an (event, consumer) now (the worker writes it with the message's
        acknowledgement instead, through ``dead_letter_op``)."""
        op = dead_letter_op(
            event_id,
            consumer,
            error_type,
            error,
            traceback,
            attempts,
            rejected=rejected,
            at=self._ledger.clock(),
        )
        self._ledger.apply([op])
        return str(op["entry"])

    def get(self, identifier: str, *, history: bool = True) -> DeadLetter | None:
        raw: dict[bytes, bytes] = self._client.hgetall(keys.dlq_entry(identifier))  # type: ignore[assignment]
        if not raw:
            return None
        entry = DeadLetter.from_hash(raw)
        if not history:
            return entry
        attempts = self._ledger.attempts(entry.event_id)
        return replace(entry, history=tuple(a for a in attempts if a["consumer"] == entry.consumer))

    def list(
        self, where: DeadLetterFilter | None = None, *, limit: int = 50, after: Cursor | None = None
    ) -> tuple[list[DeadLetter], Cursor | None]:
        """Newest first; the next page's cursor, None on the last page."""
        return take(self.iter(where, after=after), limit)

    def iter(
        self, where: DeadLetterFilter | None = None, *, after: Cursor | None = None
    ) -> Iterator[tuple[DeadLetter, Cursor]]:
        """Every matching entry, newest first, with the cursor that resumes after it (flat memory)."""
        where = where or DeadLetterFilter()
        walk = newest_first(
            self._client, keys.DLQ_INDEX, since=where.since, until=where.until, after=after, batch=200
        )
        for identifier, score in walk:
            entry = self.get(identifier, history=False)
            if entry is None:
                self._client.zrem(keys.DLQ_INDEX, identifier)  # its event expired
                continue
            if where.matches(entry):
                yield entry, Cursor(score, identifier)

    def retry(self, identifier: str) -> bool:
        """Send the event to the consumer again with a fresh retry budget; the entry leaves the queue."""
        if self._enqueue is None:
            raise RuntimeError("DeadLetters was built without a way to enqueue")
        entry = self.get(identifier, history=False)
        if entry is None:
            return False
        if self._restore is not None:
            self._restore(entry.event_id)
        self._ledger.requeued(entry.event_id, entry.consumer, "retried")
        self._enqueue(entry.event_id, entry.consumer)
        self._remove(identifier, entry.consumer)
        return True

    def retry_matching(self, where: DeadLetterFilter) -> int:
        """Retry every matching entry; how many were retried."""
        chosen = [entry.id for entry, _ in self.iter(where)]  # listed first: retrying changes the index
        return sum(self.retry(identifier) for identifier in chosen)

    def discard(self, identifier: str) -> bool:
        entry = self.get(identifier, history=False)
        if entry is None:
            return False
        if self._restore is not None:
            self._restore(entry.event_id)
        self._ledger.discarded(entry.event_id, entry.consumer)
        self._remove(identifier, entry.consumer)
        return True

    def purge(self, where: DeadLetterFilter | None = None, *, older_than: float | None = None) -> int:
        """Discard every matching entry that failed before ``older_than`` (unix time)."""
        where = where or DeadLetterFilter()
        if older_than is not None:
            until = older_than if where.until is None else min(older_than, where.until)
            where = DeadLetterFilter(
                where.source, where.consumer, where.event_type, where.q, where.since, until
            )
        doomed = [entry.id for entry, _ in self.iter(where)]
        return sum(self.discard(identifier) for identifier in doomed)

    def size(self) -> int:
        return int(self._client.zcard(keys.DLQ_INDEX))

    def _remove(self, identifier: str, consumer: str) -> None:
        with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.dlq_entry(identifier))
            pipe.zrem(keys.DLQ_INDEX, identifier)
            pipe.zrem(keys.dlq_by_consumer(consumer), identifier)
            pipe.execute()
