"""Admin tokens: ``[[admin.tokens]]`` with a name, scopes and the sha256 of the secret; Litestar guards."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from gateway.ingest.problems import problem

log = structlog.get_logger("hookgate.audit")

#: Cumulative: ``admin`` may do all, ``replay`` may also read, any scope may scrape ``/metrics``.
SCOPES = ("metrics", "read", "replay", "admin")


@dataclass(frozen=True)
class AdminToken:
    name: str
    scopes: frozenset[str]
    digest: bytes  # sha256 of the secret

    def allows(self, scope: str) -> bool:
        needed = SCOPES.index(scope)
        return any(SCOPES.index(s) >= needed for s in self.scopes)


class TokenBook:
    """Finds the token a bearer secret belongs to, comparing every digest in constant time."""

    def __init__(self, tokens: list[AdminToken]) -> None:
        self._tokens = tokens

    def find(self, secret: str) -> AdminToken | None:
        digest = hashlib.sha256(secret.encode()).digest()
        found = None
        for token in self._tokens:
            if hmac.compare_digest(token.digest, digest):
                found = token
        return found

    def named(self, name: str) -> AdminToken | None:
        return next((token for token in self._tokens if token.name == name), None)


def requires(scope: str) -> Any:
    """A Litestar guard: 401 without a valid bearer token, 403 when its scopes do not cover ``scope``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        book: TokenBook = connection.app.state.tokens
        header = connection.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        token = book.find(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
        if token is None:
            raise problem(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        if not token.allows(scope):
            raise problem(403, f"the token {token.name!r} lacks the {scope!r} scope")
        connection.scope["state"]["token_name"] = token.name

    return guard


def audit(connection: ASGIConnection[Any, Any, Any, Any], action: str, **fields: Any) -> None:
    """One log line per mutating admin call, naming the token that made it."""
    log.info("admin action", action=action, actor=connection.scope["state"].get("token_name"), **fields)
