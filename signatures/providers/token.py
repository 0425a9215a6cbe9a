"""Token: a shared secret sent as-is in a configured header, optionally after a prefix such as "Bearer "."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, SignatureMismatch
from signatures.hmac import matches_any
from signatures.registry import register

__all__ = ["TokenVerifier"]


@register
class TokenVerifier(Verifier):
    """Any sender that authenticates with a static token; the header is redacted from storage."""

    name = "token"
    options = frozenset({"header", "prefix"})

    def _configure(self, options: Mapping[str, Any]) -> None:
        header = options.get("header")
        if not isinstance(header, str) or not header.strip() or any(c.isspace() for c in header.strip()):
            raise ConfigurationError(
                f"{self.name}: option 'header' is required and must be a header name, got {header!r}"
            )
        prefix = options.get("prefix", "")
        if not isinstance(prefix, str):
            raise ConfigurationError(f"{self.name}: option 'prefix' must be a string, got {prefix!r}")
        self.header: str = header.strip()
        self.prefix: str = prefix
        self.signature_headers = frozenset({self.header.lower()})
        self.credential_headers = frozenset({self.header.lower()})

    def verify(self, delivery: Delivery) -> None:
        value = self._header(delivery, self.header).strip()
        if not matches_any((self.prefix + secret for secret in self.secrets), [value]):
            raise SignatureMismatch(f"{self.header} does not hold a configured token")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        return {**self._locator_headers(delivery_id, event_type), self.header: self.prefix + self.secrets[0]}
