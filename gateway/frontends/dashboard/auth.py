"""Dashboard access: an admin token exchanged at the login form for a signed session cookie.

The cookie is Litestar's client-side session (AES-GCM: signed and encrypted with a key derived from
``[admin] session_secret``), HttpOnly and SameSite, expiring after ``session_idle_minutes`` without a
request and ``session_max_hours`` after the login. It names the token and carries its digest, so a
token removed from the config ends its sessions at the next restart; logging out records the
session's id in Redis, so a copy of the cookie dies with it. Every POST carries Litestar's CSRF token
(a form field checked against a cookie); the scopes are the API's: ``read`` to look, ``replay`` to
retry and replay, ``admin`` to discard.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
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

from gateway.config import AdminSettings, RateLimit
from gateway.frontends.tokens import AdminToken, TokenBook
from gateway.ingest.limits import ClientAddress, RateLimiter
from gateway.store import keys

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


class Sessions:
    """Logging in and out, and what a cookie alone cannot tell: that its session was logged out (a
    copy of the cookie dies too) or began more than ``session_max_hours`` ago."""

    def __init__(self, client: aioredis.Redis, admin: AdminSettings, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self._idle_seconds = admin.session_idle_minutes * 60
        self._max_seconds = admin.session_max_hours * 3600

    def start(self, request: Request[Any, Any, Any], book: TokenBook, secret: str) -> AdminToken | None:
        token = book.find(secret.strip()) if secret.strip() else None
        if token is None or not token.allows("read"):  # a metrics-only token scrapes, it does not look
            log.warning("dashboard login refused", client=request.client.host if request.client else None)
            return None
        request.set_session(
            {
                "token": token.name,
                "digest": token.digest.hex(),
                "sid": secrets.token_urlsafe(16),
                "issued_at": time.time(),
                "csrf": _csrf_digest(request),
            }
        )
        log.info("dashboard login", actor=token.name)
        return token

    async def end(self, request: Request[Any, Any, Any]) -> None:
        session = _session(request)
        request.clear_session()
        if isinstance(session.get("sid"), str):
            # Remembered as long as the cookie could otherwise live on (its idle timeout).
            async with asyncio.timeout(self._timeout):
                await self._client.set(keys.dashboard_logout(session["sid"]), 1, ex=self._idle_seconds)
            log.info("dashboard logout", actor=session.get("token"))

    async def viewer(self, request: Request[Any, Any, Any]) -> Viewer:
        """The session's token, or LoginRequired."""
        session = _session(request)
        book: TokenBook = request.app.state.tokens
        token = book.named(str(session.get("token", "")))
        if token is None or not hmac.compare_digest(token.digest.hex(), str(session.get("digest", ""))):
            raise LoginRequired
        if not token.allows("read"):
            raise LoginRequired
        if request.method not in ("GET", "HEAD") and not hmac.compare_digest(
            str(session.get("csrf", "")), _csrf_digest(request)
        ):
            # Litestar checks that the form's token matches the CSRF cookie; this checks that the cookie
            # is the one this session logged in with, so another session's pair is refused.
            raise PermissionDeniedException("CSRF token not bound to this session")
        issued_at, sid = session.get("issued_at"), session.get("sid")
        if not isinstance(issued_at, int | float) or not isinstance(sid, str):
            raise LoginRequired
        if _now() - issued_at > self._max_seconds:
            raise LoginRequired
        async with asyncio.timeout(self._timeout):
            if await self._client.exists(keys.dashboard_logout(sid)):
                raise LoginRequired
        request.scope["state"]["token_name"] = token.name  # for audit lines
        return Viewer(token)


def _csrf_digest(request: Request[Any, Any, Any]) -> str:
    """The session's tie to its CSRF cookie (a digest: the session cookie need not carry the token)."""
    return hashlib.sha256(request.cookies.get(CSRF_COOKIE, "").encode()).hexdigest()


def _session(request: Request[Any, Any, Any]) -> dict[str, Any]:
    session = request.scope.get("session")
    return session if isinstance(session, dict) else {}


def _now() -> float:
    return time.time()


async def current_viewer(request: Request[Any, Any, Any]) -> Viewer:
    """The dependency every page takes."""
    sessions: Sessions = request.app.state.sessions
    return await sessions.viewer(request)


def safe_next(target: str | None) -> str:
    """Where to go after login: a dashboard path only (never another host)."""
    if (
        target
        and (target == PREFIX or target.startswith((f"{PREFIX}/", f"{PREFIX}?")))
        and "\\" not in target
    ):
        return target
    return PREFIX
