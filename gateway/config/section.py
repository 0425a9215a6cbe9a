"""The base of every config section: unknown keys are errors and values never change once read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """One TOML table; an unknown key is refused, naming it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
