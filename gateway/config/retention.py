"""``[retention]``: how long events live, and the dedupe windows that must fit inside it."""

from __future__ import annotations

from pydantic import Field, model_validator

from gateway.config.section import Section


class RetentionSettings(Section):
    events_days: float = Field(default=7, gt=0)
    dedupe_window_hours: float = Field(default=168, gt=0)
    body_hash_window_hours: float = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _windows_within_retention(self) -> RetentionSettings:
        for key in ("dedupe_window_hours", "body_hash_window_hours"):
            if getattr(self, key) > self.events_days * 24:
                raise ValueError(
                    f"{key} ({getattr(self, key):g} h) is longer than events_days ({self.events_days:g} d): "
                    "a duplicate could arrive after its event expired"
                )
        return self

    @property
    def events_seconds(self) -> int:
        return int(self.events_days * 86400)

    @property
    def dedupe_seconds(self) -> int:
        return int(self.dedupe_window_hours * 3600)

    @property
    def body_hash_seconds(self) -> int:
        return int(self.body_hash_window_hours * 3600)
