"""The dead-letter queue: one entry per (event, consumer) whose retries ran out or that was rejected.

``hg:dlq`` is a sorted set of entry ids by failure time; ``hg:dlq:{id}`` holds the entry. Entries expire
with their event (a dead letter whose body is gone cannot be retried). This is the store-level API that
the CLI, the admin API and the dashboard build on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import redis

from consumers.issues import issue_fields
from consumers.ledger import Ledger, Operation, failure_record, text
from gateway.store import keys

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
) -> Operation:
    """The entry (kept as long as its event, at least a day, so the failure stays visible), its indexes,
    and the consumer marked dead with its last attempt, so a ``dead`` status always has its entry."""
    record = failure_record(consumer, attempts, error, rejected=rejected, traceback=traceback)
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
        "failed_at": repr(time.time()),
        "attempt": record.encode(),
        **({"issue": issue} if issue else {}),
    }


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which entries an operation applies to; every field is optional. ``q`` searches the error text."""

    source: str | None = None
    consumer: str | None = None
    event_type: str | None = None
    q: str | None = None
    since: float | None = None
    until: float | None = None

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.source and entry["source"] != self.source:
            return False
        if self.consumer and entry["consumer"] != self.consumer:
            return False
        if self.event_type and not fnmatchcase(entry.get("event_type") or "", self.event_type):
            return False
        return not (self.q and self.q.lower() not in (entry.get("error") or "").lower())


class DeadLetters:
    """List, inspect, retry, discard and purge dead letters."""

    def __init__(self, client: redis.Redis, ledger: Ledger, enqueue: Enqueue | None = None) -> None:
        self._client = client
        self._ledger = ledger
        self._enqueue = enqueue

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
        op = dead_letter_op(event_id, consumer, error_type, error, traceback, attempts, rejected=rejected)
        self._ledger.apply([op])
        return str(op["entry"])

    def get(self, identifier: str, *, history: bool = True) -> dict[str, Any] | None:
        raw: dict[bytes, bytes] = self._client.hgetall(keys.dlq_entry(identifier))  # type: ignore[assignment]
        if not raw:
            return None
        entry: dict[str, Any] = {k.decode(): v.decode(errors="replace") for k, v in raw.items()}
        entry["attempts"] = int(entry["attempts"])
        entry["failed_at"] = float(entry["failed_at"])
        entry["event_type"] = entry["event_type"] or None
        if history:
            entry["history"] = [
                a for a in self._ledger.attempts(entry["event_id"]) if a["consumer"] == entry["consumer"]
            ]
        return entry

    def list(
        self, where: DeadLetterFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; ``next_cursor`` is None on the last page."""
        items: list[dict[str, Any]] = []
        for entry in self.iter(where, cursor=cursor):
            items.append(entry)
            if len(items) == limit:
                return items, f"{entry['failed_at']!r}"
        return items, None

    def iter(
        self, where: DeadLetterFilter | None = None, *, cursor: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every matching entry, newest first, read in batches (flat memory for large queues)."""
        where = where or DeadLetterFilter()
        high: str = f"({cursor}" if cursor else (repr(where.until) if where.until is not None else "+inf")
        low = repr(where.since) if where.since is not None else "-inf"
        while True:
            batch: list[tuple[bytes, float]] = self._client.zrevrangebyscore(  # type: ignore[assignment]
                keys.DLQ_INDEX, high, low, start=0, num=200, withscores=True
            )
            if not batch:
                return
            for raw_id, _ in batch:
                entry = self.get(raw_id.decode(), history=False)
                if entry is None:
                    self._client.zrem(keys.DLQ_INDEX, raw_id)  # its event expired
                    continue
                if where.matches(entry):
                    yield entry
            high = f"({batch[-1][1]!r}"

    def retry(self, identifier: str) -> bool:
        """Send the event to the consumer again with a fresh retry budget; the entry leaves the queue."""
        if self._enqueue is None:
            raise RuntimeError("DeadLetters was built without a way to enqueue")
        entry = self.get(identifier, history=False)
        if entry is None:
            return False
        self._ledger.requeued(entry["event_id"], entry["consumer"], "retried")
        self._enqueue(entry["event_id"], entry["consumer"])
        self._remove(identifier, entry["consumer"])
        return True

    def retry_matching(self, where: DeadLetterFilter) -> int:
        """Retry every matching entry; how many were retried."""
        chosen = [entry["id"] for entry in self.iter(where)]  # listed first: retrying changes the index
        return sum(self.retry(identifier) for identifier in chosen)

    def discard(self, identifier: str) -> bool:
        entry = self.get(identifier, history=False)
        if entry is None:
            return False
        self._ledger.discarded(entry["event_id"], entry["consumer"])
        self._remove(identifier, entry["consumer"])
        return True

    def purge(self, where: DeadLetterFilter | None = None, *, older_than: float | None = None) -> int:
        """Discard every matching entry that failed before ``older_than`` (unix time)."""
        where = where or DeadLetterFilter()
        if older_than is not None:
            until = older_than if where.until is None else min(older_than, where.until)
            where = DeadLetterFilter(
                where.source, where.consumer, where.event_type, where.q, where.since, until
            )
        doomed = [entry["id"] for entry in self.iter(where)]
        return sum(self.discard(identifier) for identifier in doomed)

    def size(self) -> int:
        return int(self._client.zcard(keys.DLQ_INDEX))

    def _remove(self, identifier: str, consumer: str) -> None:
        with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.dlq_entry(identifier))
            pipe.zrem(keys.DLQ_INDEX, identifier)
            pipe.zrem(keys.dlq_by_consumer(consumer), identifier)
            pipe.execute()
