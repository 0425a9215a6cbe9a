"""The event store as the worker and the CLI see it (the receiver writes through ``Ingestor``)."""

from __future__ import annotations

import redis

from consumers import Event
from gateway import keys

STATUSES = ("received", "queued", "processing", "processed", "retrying", "dead", "unrouted")


class EventStore:
    """Reads stored events and records their lifecycle."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        # A plain HSET on an expired event would resurrect it without a TTL.
        self._set_if_exists = client.register_script(
            "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end"
        )

    def load(self, event_id: str) -> Event | None:
        fields: dict[bytes, bytes] = self._client.hgetall(keys.event(event_id))  # type: ignore[assignment]
        if not fields:
            return None
        return Event.from_fields(event_id, {k.decode(): v for k, v in fields.items()})

    def set_status(self, event_id: str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self._set_if_exists(keys=[keys.event(event_id)], args=["status", status])
