"""``[[alerts]]`` rules, ``[channels.NAME]`` and ``[issues]``: what to watch and where to tell."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.config.secrets import one_secret
from gateway.config.section import Section

CONDITIONS = (
    "dead_letters",  # an issue's dead letters in the window reach the threshold
    "failures",  # an issue's failed attempts in the window reach the threshold
    "destination_down",  # a consumer failing without a success for longer than the window
    "queue_lag",  # the oldest queued message older than the threshold (s), for the window
    "signature_failures",  # a source's refused signatures in the window reach the threshold
    "workers_down",  # no worker heartbeat for the window
    "redis_unavailable",  # the evaluator cannot reach Redis for the window
)
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int:
    """``"30s"``, ``"10m"``, ``"1h"``, ``"7d"`` as seconds."""
    found = _DURATION.match(text.strip())
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 1h or 7d")
    return int(found.group(1)) * _UNITS[found.group(2)]


class AlertSettings(Section):
    """One ``[[alerts]]`` rule."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    when: Literal[
        "dead_letters",
        "failures",
        "destination_down",
        "queue_lag",
        "signature_failures",
        "workers_down",
        "redis_unavailable",
    ]
    consumer: str | None = None
    source: str | None = None
    threshold: float = Field(default=1, gt=0)
    window: str = "10m"
    channels: tuple[str, ...] = Field(min_length=1)
    remind_every: str | None = "1h"

    @field_validator("window", "remind_every")
    @classmethod
    def _duration(cls, text: str | None) -> str | None:
        if text is not None:
            duration_seconds(text)
        return text

    @model_validator(mode="after")
    def _filters_fit(self) -> AlertSettings:
        if self.consumer is not None and self.when in ("signature_failures", "queue_lag", "workers_down"):
            raise ValueError(f"when = {self.when!r} takes no consumer")
        if self.source is not None and self.when in ("destination_down", "queue_lag", "workers_down"):
            raise ValueError(f"when = {self.when!r} takes no source")
        return self

    @property
    def window_seconds(self) -> int:
        return duration_seconds(self.window)

    @property
    def remind_seconds(self) -> int | None:
        return duration_seconds(self.remind_every) if self.remind_every else None


class ChannelSettings(Section):
    """One ``[channels.NAME]`` table. ``url`` (slack, discord, teams, webhook) and ``smtp_url`` (email)
    may come from ``*_env`` or ``*_file``; a webhook channel signs with ``secret`` (Standard Webhooks)."""

    kind: Literal["slack", "discord", "teams", "email", "webhook"]
    url: SecretStr | None = None
    url_env: str | None = None
    url_file: Path | None = None
    smtp_url: SecretStr | None = None
    smtp_url_env: str | None = None
    smtp_url_file: Path | None = None
    from_: str | None = Field(default=None, alias="from")
    to: tuple[str, ...] = ()
    secret: SecretStr | None = None
    secret_env: str | None = None
    secret_file: Path | None = None
    timeout_seconds: float = Field(default=10, gt=0, le=60)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _complete(self) -> ChannelSettings:
        urls = sum(v is not None for v in (self.url, self.url_env, self.url_file))
        smtp = sum(v is not None for v in (self.smtp_url, self.smtp_url_env, self.smtp_url_file))
        secrets = sum(v is not None for v in (self.secret, self.secret_env, self.secret_file))
        if self.kind == "email":
            if smtp != 1 or not self.from_ or not self.to:
                raise ValueError("an email channel needs one of smtp_url/_env/_file, from and to")
            if urls:
                raise ValueError("an email channel takes smtp_url, not url")
        elif urls != 1:
            raise ValueError(f"a {self.kind} channel needs exactly one of url, url_env or url_file")
        if self.kind == "webhook" and secrets != 1:
            raise ValueError("a webhook channel needs one of secret, secret_env or secret_file (whsec_...)")
        if self.kind != "webhook" and secrets:
            raise ValueError("only a webhook channel is signed (secret)")
        return self

    def resolved(self, name: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The channel's url (or smtp_url) and secret, read from the config, env or files."""
        environ = os.environ if environ is None else environ
        found: dict[str, str] = {}
        for key in ("url", "smtp_url", "secret"):
            given = (getattr(self, key), getattr(self, f"{key}_env"), getattr(self, f"{key}_file"))
            value = one_secret(f"channels.{name}.{key}", *given, environ)
            if value is not None:
                found[key] = value
        return found


class IssuesSettings(Section):
    """``[issues]``: how failures become issues and how often alert rules are evaluated."""

    #: A failure issue resolves by itself once its consumer has succeeded and it has been quiet this long.
    resolve_after: str = "10m"
    #: How often the elected process evaluates the rules and sends what is due.
    evaluate_every_seconds: float = Field(default=10, ge=0.2, le=300)

    @field_validator("resolve_after")
    @classmethod
    def _duration(cls, text: str) -> str:
        duration_seconds(text)
        return text

    @property
    def resolve_after_seconds(self) -> int:
        return duration_seconds(self.resolve_after)
