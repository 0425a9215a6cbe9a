"""``[record]``: PostgreSQL as the record of every event (``gateway/record``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from gateway.config.secrets import one_secret
from gateway.config.section import Section


class RecordSettings(Section):
    """``[record]``: PostgreSQL as the record of every event (``gateway/record``). Absent, Redis is the
    whole store. The URL (a libpq connection URI, which may hold a password) comes from exactly one of
    ``url``, ``url_env`` or ``url_file``."""

    url: SecretStr | None = None
    url_env: str | None = None
    url_file: Path | None = None
    #: How long an event's body (and processing record) stays in Redis after it settles and is written.
    hot_hours: float = Field(default=24, ge=0)
    #: Events per write: one COPY and one upsert per batch.
    batch: int = Field(default=1000, ge=1, le=10_000)
    #: How often the writer looks for new changes when it has caught up.
    interval_seconds: float = Field(default=0.5, gt=0, le=60)
    #: Connections per process (readers and the writer); queries wait for one up to the timeout.
    pool_size: int = Field(default=4, ge=1, le=100)
    timeout_seconds: float = Field(default=5, gt=0)

    @model_validator(mode="after")
    def _one_url(self) -> RecordSettings:
        if sum(v is not None for v in (self.url, self.url_env, self.url_file)) != 1:
            raise ValueError("give exactly one of url, url_env or url_file")
        return self

    @property
    def hot_seconds(self) -> int:
        return int(self.hot_hours * 3600)

    def dsn(self, environ: Mapping[str, str] | None = None) -> str:
        """The connection URI, read from the config, the environment or a file."""
        environ = os.environ if environ is None else environ
        found = one_secret("record.url", self.url, self.url_env, self.url_file, environ)
        assert found is not None  # exactly one is given (checked when the config is read)
        if not found.startswith(("postgresql://", "postgres://")):
            raise ValueError("record.url: must start with postgresql:// or postgres://")
        return found
