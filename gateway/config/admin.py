"""``[admin]`` and its ``[[admin.tokens]]``: the operators' API and dashboard, their listener and tokens."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from gateway.config.secrets import one_secret
from gateway.config.section import Section


class TokenSettings(Section):
    """One ``[[admin.tokens]]`` table: ``token = "sha256:<hex>"``, or the plain secret from env or a file."""

    name: str = Field(min_length=1)
    scopes: tuple[Literal["metrics", "read", "replay", "admin"], ...] = Field(min_length=1)
    token: str | None = Field(default=None, pattern=r"^sha256:[0-9a-fA-F]{64}$")
    token_env: str | None = None
    token_file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TokenSettings:
        if sum(v is not None for v in (self.token, self.token_env, self.token_file)) != 1:
            raise ValueError("give exactly one of token (sha256:<hex>), token_env or token_file")
        return self

    def digest(self, environ: Mapping[str, str] | None = None) -> bytes:
        """The sha256 of the secret."""
        if self.token is not None:
            return bytes.fromhex(self.token.removeprefix("sha256:"))
        environ = os.environ if environ is None else environ
        secret = one_secret("token", None, self.token_env, self.token_file, environ)
        assert secret is not None  # exactly one is given (checked when the config is read)
        return hashlib.sha256(secret.encode()).digest()


class AdminSettings(Section):
    tokens: tuple[TokenSettings, ...] = ()
    #: When set, /api/v1, /dashboard and /metrics move to this second listener; the public port keeps
    #: only the webhooks and the health checks.
    port: int | None = Field(default=None, ge=1, le=65535)
    host: str = "127.0.0.1"
    #: Signs (and encrypts) the dashboard's session cookie; every gateway process must share it.
    session_secret: SecretStr | None = None
    session_secret_env: str | None = None
    session_secret_file: Path | None = None
    #: A dashboard session ends after this long without a request.
    session_idle_minutes: int = Field(default=480, ge=1, le=43_200)
    #: ... and this long after the login, however busy.
    session_max_hours: int = Field(default=24, ge=1, le=720)
    #: Mark the dashboard's cookies Secure (sent over HTTPS only): set it when TLS terminates in front.
    secure_cookies: bool = False
    #: The dashboard's address as operators reach it (https://hookgate.example.com): notifications
    #: link to the page that shows what failed.
    public_url: str | None = None
    #: Serve /metrics without a token. Off by default: a scraper presents a token (the ``metrics``
    #: scope is enough), so a gateway facing the internet does not show its traffic to everyone.
    public_metrics: bool = False

    @model_validator(mode="after")
    def _one_session_secret(self) -> AdminSettings:
        given = (self.session_secret, self.session_secret_env, self.session_secret_file)
        if sum(v is not None for v in given) > 1:
            raise ValueError("give at most one of session_secret, session_secret_env or session_secret_file")
        return self

    def session_key(self, environ: Mapping[str, str] | None = None) -> bytes | None:
        """32 bytes derived from the configured session secret, or None when there is none."""
        environ = os.environ if environ is None else environ
        given = (self.session_secret, self.session_secret_env, self.session_secret_file)
        secret = one_secret("session_secret", *given, environ)
        if secret is None:
            return None
        if len(secret) < 16:
            message = "session_secret: the secret must be at least 16 characters (use a long random string)"
            raise ValueError(message)
        return hashlib.sha256(b"hookgate-session\0" + secret.encode()).digest()
