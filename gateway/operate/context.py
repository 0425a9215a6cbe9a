"""What the operator use cases work on: the stores of one process, and, where it may enqueue, the
actors and the bulk-replay job. The bootstrap (``gateway.processes.bootstrap``) builds it for each role;
the use cases (``events``, ``stats``, ``replay``, ``dead_letters``, ``issues``, ``destinations``) are
functions of it.

Enqueueing (replay, a dead letter's retry) goes through actors declared on an explicit broker and loads
no consumer module: a consumer's retry settings are applied where its message is processed, and the
names of the consumers that exist are what the workers announce (``keys.KNOWN_CONSUMERS``) and the
configured ``[[forward]]`` entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import dramatiq
import redis
from psycopg_pool import ConnectionPool

from gateway.alerts.issues import Issues
from gateway.config import Settings
from gateway.record.reads import RecordEvents
from gateway.store.dlq import DeadLetters
from gateway.store.events import EventStore
from gateway.store.lanes import Lanes
from gateway.store.ledger import Ledger


class Enqueue(Protocol):
    """What operators enqueue through (``gateway.worker.actors.Actors``)."""

    def send_to(self, event_id: str, consumer: str, replay: int = 0) -> None: ...

    def replay(
        self,
        event_id: str,
        source: str,
        event_type: str | None,
        replay: int = 0,
        *,
        ignore_filters: bool = False,
    ) -> None: ...

    def resend(self, event_id: str, consumer: str) -> None: ...


@dataclass
class Context:
    """The stores the use cases read and write; ``actors`` and ``replay_job`` only where it enqueues."""

    client: redis.Redis
    #: Where events are read: the record when it is on, else Redis.
    events: EventStore | RecordEvents
    ledger: Ledger
    dead_letters: DeadLetters
    issues: Issues
    #: Every consumer's lane (its destination's state, what it holds).
    lanes: Lanes
    #: The configured ``[[forward]]`` consumers' names (workers announce the others).
    forwards: frozenset[str] = frozenset()
    record: ConnectionPool | None = None
    actors: Enqueue | None = None
    replay_job: dramatiq.Actor[..., None] | None = None

    @property
    def has_record(self) -> bool:
        return self.record is not None

    @classmethod
    def build(
        cls,
        client: redis.Redis,
        settings: Settings,
        *,
        actors: Enqueue | None = None,
        record: ConnectionPool | None = None,
    ) -> Context:
        """The stores on ``client`` (and the record's ``pool`` when it is on)."""
        ledger = Ledger(client)
        retention = settings.retention.events_seconds
        events: EventStore | RecordEvents = (
            EventStore(client, retention) if record is None else RecordEvents(client, record, retention)
        )
        enqueue = (lambda e, c: actors.resend(e, c)) if actors is not None else None
        dead_letters = DeadLetters(client, ledger, enqueue, events.restore)
        return cls(
            client=client,
            events=events,
            ledger=ledger,
            dead_letters=dead_letters,
            issues=Issues(client, dead_letters),
            lanes=Lanes(client, ledger),
            forwards=frozenset(forward.name for forward in settings.forward),
            record=record,
            actors=actors,
        )

    def close(self) -> None:
        """Close the record's connections (Redis's close with their client)."""
        if self.record is not None:
            self.record.close()
