"""The event a consumer receives."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One stored webhook event: the exact bytes and headers that were sent, and what hookgate knows of it."""

    id: str
    source: str
    event_type: str | None
    delivery_id: str | None
    received_at: float
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    consumer: str = ""
    #: The n-th forced replay (0: not one); its consumers get a distinct idempotency key.
    replay: int = 0

    @classmethod
    def from_fields(
        cls, event_id: str, fields: Mapping[str, bytes], consumer: str = "", replay: int = 0
    ) -> Event:
        """An event from its stored Redis hash."""
        return cls(
            id=event_id,
            source=fields["source"].decode(),
            event_type=fields["event_type"].decode() or None,
            delivery_id=fields["delivery_id"].decode() or None,
            received_at=float(fields["received_at"]),
            body=fields["body"],
            headers=[(name, value) for name, value in json.loads(fields["headers"])],
            consumer=consumer,
            replay=replay,
        )

    @property
    def idempotency_key(self) -> str:
        """Stable per (event, consumer): pass it on downstream so a redelivery has no second effect.
        A forced replay adds ``:r{n}``, so downstream systems can tell it from a redelivery."""
        key = f"{self.id}:{self.consumer}"
        return f"{key}:r{self.replay}" if self.replay else key

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)
