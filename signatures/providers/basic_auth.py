"""Basic auth: ``Authorization: Basic base64(user:password)``, as Postmark and many senders use."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MalformedHeader, SignatureMismatch
from signatures.registry import register

__all__ = ["BasicAuthVerifier"]

_HEADER = "Authorization"


@register
class BasicAuthVerifier(Verifier):
    """HTTP basic auth; option ``username``, ``secrets`` are the accepted passwords (rotation)."""

    name = "basic-auth"
    options = frozenset({"username"})
    signature_headers = frozenset({"authorization"})
    credential_headers = frozenset({"authorization"})

    def _configure(self, options: Mapping[str, Any]) -> None:
        username = options.get("username")
        if not isinstance(username, str) or not username or ":" in username:
            raise ConfigurationError(
                f"{self.name}: option 'username' is required and must be a non-empty string without ':'"
            )
        self.username: str = username
        for index, secret in enumerate(self.secrets):
            if any(ord(c) < 0x20 or c == "\x7f" for c in secret):
                raise ConfigurationError(f"{self.name}: secret #{index + 1} holds a control character")

    def verify(self, delivery: Delivery) -> None:
        scheme, _, encoded = self._header(delivery, _HEADER).strip().partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise MalformedHeader(f"{_HEADER} must look like Basic <base64 user:password>")
        try:
            username, colon, password = (
                base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, ValueError):
            raise MalformedHeader(f"{_HEADER} must look like Basic <base64 user:password>") from None
        if not colon:
            raise MalformedHeader(f"{_HEADER} must encode user:password")
        user_ok = hmac.compare_digest(username.encode(), self.username.encode())
        password_ok = False
        for secret in self.secrets:
            password_ok |= hmac.compare_digest(password.encode(), secret.encode())
        if not (user_ok and password_ok):
            raise SignatureMismatch(f"{_HEADER} does not hold the configured user and a configured password")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        credentials = base64.b64encode(f"{self.username}:{self.secrets[0]}".encode()).decode("ascii")
        return {**self._locator_headers(delivery_id, event_type), _HEADER: f"Basic {credentials}"}
