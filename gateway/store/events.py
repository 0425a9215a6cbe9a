"""The event store as the worker and the CLI see it (the receiver writes through ``Ingestor``)."""

from __future__ import annotations

import redis

from consumers import Event
from gateway.store import keys

STATUSES = ("received", "queued", "processing", "processed", "retrying", "dead", "unrouted")


class EventStore:
    """Reads stored events and records their lifecycle."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def load(self, event_id: str) -> Event | None:
        fields: dict[bytes, bytes] = self._client.hgetall(keys.event(event_id))  # type: ignore[assignment]
        if not fields:
            return None
        return Event.from_fields(event_id, {k.decode(): v for k, v in fields.items()})
