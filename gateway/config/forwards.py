"""``[[forward]]``: the built-in consumer that POSTs the raw event on to a URL."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr, field_validator

from gateway.config.destinations import LaneSettings
from gateway.config.filtering import compile_filter

_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class ForwardSettings(LaneSettings):
    """One ``[[forward]]`` table: the built-in consumer that POSTs the raw event on to a URL, with its
    lane's settings (``max_in_flight``, ``rate_limit``, ``breaker``) if it sets them, the events it wants
    (``filter``) and what it makes of them (``transform``)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
    source: str
    events: tuple[str, ...] = ()
    url: str
    timeout_seconds: float = Field(default=10, gt=0)
    #: Extra headers; a value ``"env:NAME"`` is read from the environment variable NAME.
    headers: dict[str, str] = Field(default={})
    #: Signs what is forwarded with the Standard Webhooks scheme (``whsec_...``).
    sign_secret: SecretStr | None = None
    max_retries: int | None = Field(default=None, ge=0)
    min_backoff_ms: int | None = Field(default=None, ge=0)
    max_backoff_ms: int | None = Field(default=None, ge=0)
    #: Which events it wants, on their body, headers, query or path (``gateway/config/filtering``).
    filter: dict[str, Any] | None = None
    #: ``"module:function"``: called with the event, returns what to send or None to decline it.
    transform: str | None = None
    #: How long a transformation may run before it is stopped and the delivery fails.
    transform_timeout_seconds: float = Field(default=1.0, gt=0, le=60)

    @field_validator("filter")
    @classmethod
    def _filter(cls, spec: dict[str, Any] | None) -> dict[str, Any] | None:
        if spec is not None:
            compile_filter(spec)  # a FilterError (a ValueError) names the clause at fault
        return spec

    @field_validator("transform")
    @classmethod
    def _transform(cls, spec: str | None) -> str | None:
        if spec is not None and not _CALLABLE.match(spec):
            raise ValueError('must be "module:function", as "mypkg.shapes:for_slack"')
        return spec

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url

    def resolved_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        environ = os.environ if environ is None else environ
        resolved = {}
        for name, value in self.headers.items():
            if value.startswith("env:"):
                variable = value.removeprefix("env:")
                if variable not in environ:
                    raise ValueError(f"headers.{name} names {variable!r}, which is not set")
                value = environ[variable]
            resolved[name] = value
        return resolved
