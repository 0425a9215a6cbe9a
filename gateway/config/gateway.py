"""``[gateway]``: the ingest listener's limits, trusted proxies and shutdown."""

from __future__ import annotations

from pydantic import Field, field_validator

from gateway.config.section import Section
from gateway.config.values import parse_networks


class GatewaySettings(Section):
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    trusted_proxies: tuple[str, ...] = ()
    retry_after_seconds: int = Field(default=5, ge=1)
    access_log: bool = False
    #: Bounds on a request's head (request line and headers): its size and header count (else 431),
    #: and the time from its first byte until it is complete (else 408; ``gateway/ingest/heads.py``).
    max_head_bytes: int = Field(default=65_536, ge=4096)
    max_headers: int = Field(default=100, ge=10)
    head_timeout_seconds: float = Field(default=10, gt=0)
    #: On SIGTERM, answer /readyz with 503 for this long before closing the listener, so a load balancer
    #: stops sending new requests first; in-flight requests then finish.
    shutdown_delay_seconds: float = Field(default=0, ge=0, le=300)

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(proxies)
        return proxies
