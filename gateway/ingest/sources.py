"""The configured sources made ready for the receiver: a verifier each and their resolved limits."""

from __future__ import annotations

from collections.abc import Mapping

import signatures
from gateway.config import ConfigError, RateLimit, Settings, SourceSettings, parse_networks


class SourceConfig:
    """A source ready for the receiver: its settings, its verifier and its resolved limits."""

    __slots__ = ("allowed_ips", "body_limit", "dedupe", "name", "public_url", "rate", "settings", "verifier")

    def __init__(self, name: str, settings: SourceSettings, verifier: signatures.Verifier, body_limit: int):
        self.name = name
        self.settings = settings
        self.verifier = verifier
        self.body_limit = body_limit
        self.dedupe = settings.dedupe
        self.public_url = settings.public_url or ""
        self.allowed_ips = parse_networks(settings.allowed_ips) if settings.allowed_ips is not None else None
        self.rate = RateLimit.parse(settings.rate_limit) if settings.rate_limit else None


def build_sources(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, SourceConfig]:
    """Build a verifier per source; a bad provider config is a ConfigError naming the source."""
    built: dict[str, SourceConfig] = {}
    for name, source in settings.sources.items():
        try:
            verifier = signatures.build(
                source.provider,
                source.verifier_secrets(environ),
                **source.verifier_options,
                **source.provider_options,
            )
        except (ValueError, OSError) as exc:
            raise ConfigError(f"sources.{name}: {exc}") from None
        built[name] = SourceConfig(
            name, source, verifier, source.max_body_bytes or settings.gateway.max_body_bytes
        )
    return built
