"""``[retries]``: the default retry budget and backoff of every consumer."""

from __future__ import annotations

from pydantic import Field, model_validator

from gateway.config.section import Section


class RetriesSettings(Section):
    max_retries: int = Field(default=8, ge=0)
    min_backoff_ms: int = Field(default=1000, ge=0)
    max_backoff_ms: int = Field(default=3_600_000, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> RetriesSettings:
        if self.max_backoff_ms < self.min_backoff_ms:
            raise ValueError("max_backoff_ms is smaller than min_backoff_ms")
        return self
