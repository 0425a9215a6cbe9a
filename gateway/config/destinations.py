"""A destination's lane: how many worker threads it may hold, how fast it may be called, its circuit
breaker, and whether its deliveries are ordered per key. Set on a ``[[forward]]`` table, in
``@consumer(...)``, or for any consumer by name under ``[destinations.NAME]`` (which wins).

A lane's settings are shared by every worker process (they live in Redis, ``gateway/store/lanes.py``):
``max_in_flight`` bounds the deliveries of this destination running at once across all of them, and
``rate_limit`` their starts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from gateway.config.alerts import duration_seconds
from gateway.config.ordering import parse_ordering
from gateway.config.section import Section
from gateway.config.values import RateLimit


class BreakerSettings(Section):
    """When a destination counts as down. By default ``failures`` in a row open it; with ``ratio``, a
    share of failed attempts over ``window`` (once ``min_requests`` were made) does. Open, its deliveries
    are held; after ``cooldown`` one probe goes through, and each failed probe doubles the cool-down up
    to ``max_cooldown``."""

    failures: int = Field(default=5, ge=1)
    ratio: float | None = Field(default=None, gt=0, le=1)
    window: str = "5m"
    min_requests: int = Field(default=10, ge=1)
    cooldown: str = "30s"
    max_cooldown: str = "10m"

    @field_validator("window", "cooldown", "max_cooldown")
    @classmethod
    def _duration(cls, text: str) -> str:
        duration_seconds(text)
        return text

    @model_validator(mode="after")
    def _cooldowns(self) -> BreakerSettings:
        if duration_seconds(self.max_cooldown) < duration_seconds(self.cooldown):
            raise ValueError("max_cooldown must be at least cooldown")
        return self


class LaneSettings(Section):
    """The lane keys a ``[[forward]]`` table or a ``[destinations.NAME]`` table may set."""

    #: Deliveries of this destination running at once, across every worker (default: half the worker's
    #: threads, so a destination that hangs leaves the other half to everyone else).
    max_in_flight: int | None = Field(default=None, ge=1)
    #: ``"N/s"`` or ``"N/m"``; over it a delivery waits its turn (no retry spent).
    rate_limit: str | None = None
    #: On by default; ``false`` turns it off, a table tunes it.
    breaker: bool | BreakerSettings = True
    #: Deliveries with the same key go one at a time, in the order stored: ``"body:data.object.customer"``,
    #: ``"header:X-Name"`` or a provider preset (``gateway/config/ordering.py``).
    ordering: str | None = None
    #: An ordered key whose delivery is dead-lettered: ``hold`` blocks it until an operator retries or
    #: discards the dead letter; ``skip`` moves on to its next delivery.
    on_dead: Literal["hold", "skip"] = "hold"

    @field_validator("ordering")
    @classmethod
    def _ordering(cls, spec: str | None) -> str | None:
        if spec is not None:
            parse_ordering(spec)
        return spec

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, text: str | None) -> str | None:
        if text is not None:
            RateLimit.parse(text)
        return text


class DestinationSettings(LaneSettings):
    """One ``[destinations.NAME]`` table: lane settings for the consumer of that name."""
