"""Dashboard access: an admin token exchanged at the login form for a signed session cookie.

The cookie is Litestar's client-side session (AES-GCM: signed and encrypted with a key derived from
``[admin] session_secret``), HttpOnly and SameSite, expiring after ``session_idle_minutes`` without a
request. It names the token and carries its digest, so a token removed from the config ends its
sessions at the next restart. Every POST carries Litestar's CSRF token (a form field checked against a
cookie); the scopes are the API's: ``read`` to look, ``replay`` to retry and replay, ``admin`` to discard.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

import structlog
from cryptography.exceptions import InvalidTag
from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import PermissionDeniedException, SerializationException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import ASGIApp

from gateway.limits import ClientAddress, RateLimit, RateLimiter
from gateway.settings import AdminSettings
from gateway.tokens import AdminToken, TokenBook

log = structlog.get_logger("hookgate.dashboard")

PREFIX = "/dashboard"
SESSION_COOKIE = "hookgate_session"
CSRF_COOKIE = "hookgate_csrf"


class LoginRequired(Exception):
    """No valid session: the page redirects to the login form."""


@dataclass(frozen=True)
class Viewer:
    """The token behind the session."""

    token: AdminToken

    @property
    def name(self) -> str:
        return self.token.name

    def can(self, scope: str) -> bool:
        return self.token.allows(scope)

    def need(self, scope: str) -> None:
        """403 (and nothing done) when the token's scopes do not cover ``scope``."""
        if not self.can(scope):
            raise PermissionDeniedException(f"the token {self.name!r} lacks the {scope!r} scope")


def session_key(admin: AdminSettings) -> bytes:
    """The configured key, or a random one (sessions then end when the process does)."""
    key = admin.session_key()
    if key is None and admin.tokens:
        log.warning(
            "no [admin] session_secret: dashboard sessions end when this gateway process stops "
            "and are not shared with other processes"
        )
    return key or os.urandom(32)


def middleware(admin: AdminSettings, key: bytes) -> list[DefineMiddleware]:
    """The session cookie, then CSRF checks on every unsafe method (login included)."""
    session = CookieBackendConfig(
        secret=key,
        key=SESSION_COOKIE,
        path=PREFIX,
        httponly=True,
        samesite="lax",  # links into the dashboard from chat or mail keep the session
        secure=admin.secure_cookies,
        max_age=admin.session_idle_minutes * 60,
    )
    csrf = CSRFConfig(
        secret=hmac.new(key, b"csrf", hashlib.sha256).hexdigest(),
        cookie_name=CSRF_COOKIE,
        cookie_path=PREFIX,
        cookie_httponly=True,  # the token travels in a form field, never read by script
        cookie_samesite="strict",
        cookie_secure=admin.secure_cookies,
    )
    return [
        DefineMiddleware(_session_middleware, config=session),
        DefineMiddleware(CSRFMiddleware, config=csrf),
    ]


def _session_middleware(app: ASGIApp, config: CookieBackendConfig) -> ASGIApp:
    """``config.middleware`` with the backend built late: Litestar deep-copies a router's middleware
    definitions when it registers the router, and the backend's AES-GCM cipher cannot be copied."""
    return SessionMiddleware(app=app, backend=_SessionBackend(config=config))


class _SessionBackend(ClientSideSessionBackend):
    """A cookie that does not decode is no session. Litestar's backend lets a mangled expiry field
    (outside the ciphertext) escape as a SerializationException, which would be a 500."""

    def load_data(self, data: list[bytes]) -> dict[str, Any]:
        try:
            return super().load_data(data)
        except (InvalidTag, binascii.Error, SerializationException, KeyError, TypeError, ValueError):
            return {}


class LoginGuard:
    """At most ten login attempts a minute per client address, across gateway processes."""

    RATE = RateLimit(limit=10, window_ms=60_000)

    def __init__(self, limiter: RateLimiter, addresses: ClientAddress) -> None:
        self._limiter = limiter
        self._addresses = addresses

    async def wait_seconds(self, request: Request[Any, Any, Any]) -> int:
        """0 when this attempt may go ahead, else how long the client must wait."""
        forwarded = request.headers.getall("x-forwarded-for", [])
        address = self._addresses.resolve(request.client.host if request.client else None, forwarded)
        wait_ms = await self._limiter.retry_after_ms(f"dashboard-login:{address}", self.RATE)
        return -(-wait_ms // 1000)


def log_in(request: Request[Any, Any, Any], book: TokenBook, secret: str) -> AdminToken | None:
    token = book.find(secret.strip()) if secret.strip() else None
    if token is None:
        log.warning("dashboard login refused", client=request.client.host if request.client else None)
        return None
    request.set_session({"token": token.name, "digest": token.digest.hex()})
    log.info("dashboard login", actor=token.name)
    return token


def log_out(request: Request[Any, Any, Any]) -> None:
    name = request.session.get("token") if request.scope.get("session") else None
    request.clear_session()
    if name:
        log.info("dashboard logout", actor=name)


def current_viewer(request: Request[Any, Any, Any]) -> Viewer:
    """The dependency every page takes: the session's token, or LoginRequired."""
    session = request.scope.get("session")
    session = session if isinstance(session, dict) else {}
    book: TokenBook = request.app.state.tokens
    token = book.named(str(session.get("token", "")))
    digest = str(session.get("digest", ""))
    if token is None or not hmac.compare_digest(token.digest.hex(), digest):
        raise LoginRequired
    request.scope["state"]["token_name"] = token.name  # for audit lines
    return Viewer(token)


def safe_next(target: str | None) -> str:
    """Where to go after login: a dashboard path only (never another host)."""
    if (
        target
        and (target == PREFIX or target.startswith((f"{PREFIX}/", f"{PREFIX}?")))
        and "\\" not in target
    ):
        return target
    return PREFIX
