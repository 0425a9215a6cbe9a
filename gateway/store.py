"""The event store as the worker and the CLI see it (the receiver writes through ``Ingestor``)."""

from __future__ import annotations

from typing import Any

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

    def record(self, event_id: str) -> dict[str, Any] | None:
        """The event's metadata as the CLI and API show it (no body)."""
        raw: list[bytes | None] = self._client.hmget(  # type: ignore[assignment]
            keys.event(event_id),
            ["source", "delivery_id", "event_type", "status", "received_at", "deliveries"],
        )
        if raw[0] is None:
            return None
        source, delivery_id, event_type, status, received_at, deliveries = ((v or b"").decode() for v in raw)
        return {
            "event_id": event_id,
            "source": source,
            "delivery_id": delivery_id or None,
            "event_type": event_type or None,
            "status": status,
            "received_at": float(received_at),
            "deliveries": int(deliveries or 1),
        }

    def set_status(self, event_id: str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self._set_if_exists(keys=[keys.event(event_id)], args=["status", status])
