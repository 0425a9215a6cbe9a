"""``[redis]``: where the event store and the broker live, a URL or Sentinel, and the ingest timeouts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from gateway.config.secrets import read_secret_file
from gateway.config.section import Section


class RedisSettings(Section):
    url: str | None = None
    #: Redis Sentinel instead of ``url``: the sentinels ("host:port") and the primary's service name.
    sentinels: tuple[str, ...] = ()
    service_name: str | None = None
    #: The sentinels' own password, when they have one (the primary's is ``password_file``).
    sentinel_password_file: Path | None = None
    #: 202 only once this many replicas hold the event (Redis WAIT, up to replica_ack_timeout_ms), else 503.
    min_replica_acks: int = Field(default=0, ge=0, le=16)
    replica_ack_timeout_ms: int = Field(default=200, ge=1, le=10_000)
    password_file: Path | None = None
    #: Timeouts on the ingest path, well under senders' 3-10 s deadlines, so a hung Redis answers 503.
    connect_timeout_seconds: float = Field(default=0.5, gt=0)
    timeout_seconds: float = Field(default=1.0, gt=0)
    #: Connections per gateway process; requests beyond it wait for one (within timeout_seconds).
    max_connections: int = Field(default=64, ge=1)

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url

    @field_validator("sentinels")
    @classmethod
    def _addresses(cls, sentinels: tuple[str, ...]) -> tuple[str, ...]:
        for address in sentinels:
            host, sep, port = address.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address!r} is not host:port")
        return sentinels

    @model_validator(mode="after")
    def _one_way_to_redis(self) -> RedisSettings:
        if self.url and self.sentinels:
            raise ValueError("give url or sentinels, not both")
        if self.sentinels and not self.service_name:
            raise ValueError("sentinels need service_name (the primary's name the sentinels monitor)")
        if self.service_name and not self.sentinels:
            raise ValueError("service_name is for sentinels: give them too")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.url or self.sentinels)

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(host, int(port)) for host, _, port in (a.rpartition(":") for a in self.sentinels)]

    def password(self) -> str | None:
        if self.password_file is None:
            return None
        return read_secret_file(self.password_file).strip() or None

    def sentinel_password(self) -> str | None:
        if self.sentinel_password_file is None:
            return None
        return read_secret_file(self.sentinel_password_file).strip() or None
