"""``[sources.NAME]``: one table per sender: its provider, its secrets, its limits and where its delivery
id and event type live.

Provider-specific keys are the provider's to check: ``check_source`` lets ``signatures`` refuse a bad
provider, option or secret at start-up. The receiver builds the verifier it runs itself
(``gateway/ingest/sources.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

import signatures
from gateway.config.secrets import read_secret_file
from gateway.config.values import RateLimit, parse_networks


class SourceSettings(BaseModel):
    """One ``[sources.NAME]`` table. Provider-specific keys are checked by the provider itself."""

    model_config = ConfigDict(extra="allow", frozen=True)

    provider: str
    secret: SecretStr | None = None
    secrets: tuple[SecretStr, ...] = ()
    secret_env: str | None = None
    secret_file: Path | None = None
    public_key: SecretStr | None = None
    tolerance_seconds: int | None = Field(default=None, ge=1)
    max_body_bytes: int | None = Field(default=None, gt=0)
    dedupe: bool = True
    delivery_id: str | None = None
    event_type: str | None = None
    public_url: str | None = None
    #: Client addresses allowed to post (CIDRs); others get 403. See ``[gateway] trusted_proxies``.
    allowed_ips: tuple[str, ...] | None = None
    #: ``"N/s"`` or ``"N/m"`` across all gateway processes; beyond it 429 with Retry-After.
    rate_limit: str | None = None

    @field_validator("allowed_ips")
    @classmethod
    def _networks(cls, cidrs: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if cidrs is not None:
            parse_networks(cidrs)
        return cidrs

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, text: str | None) -> str | None:
        if text is not None:
            RateLimit.parse(text)
        return text

    @field_validator("public_url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be the full http:// or https:// URL the sender posts to")
        return url

    @model_validator(mode="after")
    def _no_shadowed_options(self) -> SourceSettings:
        # ``tolerance`` is what the provider calls ``tolerance_seconds``: passed through as a provider
        # option it would collide with the one every provider takes (a TypeError, not a config error).
        for name in sorted(set(self.model_extra or {}) & set(self.verifier_options)):
            raise ValueError(f"unknown key {name!r} (did you mean {name}_seconds?)")
        return self

    @property
    def provider_options(self) -> dict[str, Any]:
        """The keys this model does not know, handed to the provider, which refuses unknown ones."""
        return dict(self.model_extra or {})

    @property
    def verifier_options(self) -> dict[str, Any]:
        """The options every provider takes; ``signatures.build`` gets these and ``provider_options``."""
        return {
            "tolerance": self.tolerance_seconds,
            "delivery_id": self.delivery_id,
            "event_type": self.event_type,
        }

    def resolved_secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every secret that may match, in order: inline, list, env variable, file."""
        environ = os.environ if environ is None else environ
        found: list[str] = []
        for single in (self.secret, self.public_key):
            if single is not None:
                found.append(single.get_secret_value())
        found.extend(s.get_secret_value() for s in self.secrets)
        if self.secret_env is not None:
            value = environ.get(self.secret_env)
            if value is None:
                raise ValueError(f"secret_env names {self.secret_env!r}, which is not set")
            found.extend(_split_secrets(value))
        if self.secret_file is not None:
            found.extend(_split_secrets(read_secret_file(self.secret_file)))
        return [s for s in found if s]

    def verifier_secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """``resolved_secrets``, refusing a source that has none."""
        secrets = self.resolved_secrets(environ)
        if not secrets:
            raise ValueError("no secret: set secret, secrets, secret_env or secret_file")
        return secrets


def check_source(source: SourceSettings, environ: Mapping[str, str] | None = None) -> None:
    """Let the provider refuse a bad name, option or secret now rather than at the first delivery; the
    verifier built to ask is dropped. ValueError (or OSError, from a secret file) says what is wrong."""
    signatures.build(
        source.provider,
        source.verifier_secrets(environ),
        **source.verifier_options,
        **source.provider_options,
    )


def _split_secrets(value: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", value) if part]
