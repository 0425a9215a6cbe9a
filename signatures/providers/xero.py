"""Xero: ``x-xero-signature``, base64 HMAC-SHA256 of the body with the app's webhook key.

https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/: the endpoint must
answer every correctly signed delivery ``200`` with no body, and ``401`` to a bad signature, or the
"intent to receive" check fails and Xero disables the webhook. The gateway refuses bad signatures with
401 already but stores new events with 202, so every verified Xero delivery is answered as a handshake.
"""

from __future__ import annotations

import re

from signatures.base import Handshake, Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["XeroVerifier"]

_SIGNATURE = "x-xero-signature"
_BASE64 = re.compile(r"[A-Za-z0-9+/]{43}=")


@register
class XeroVerifier(Verifier):
    """Xero webhooks; ``secrets`` are webhook keys. Deliveries batch events of mixed types, so there is
    no default event type, and no delivery id: dedupe is on the body hash."""

    name = "xero"
    signature_headers = frozenset({_SIGNATURE})

    def verify(self, delivery: Delivery) -> None:
        given = self._header(delivery, _SIGNATURE).strip()
        if not _BASE64.fullmatch(given):
            raise MalformedHeader(f"{_SIGNATURE} must hold a base64 HMAC-SHA256")
        if not matches_any((self._signature(key, delivery.body) for key in self._keys), [given]):
            raise SignatureMismatch(f"{_SIGNATURE} does not match the body")

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """200 with no body for every verified delivery, intent-to-receive checks and events alike; a
        delivery without events (the intent-to-receive check) is not stored."""
        body = delivery.json() if delivery.body else None
        events = body.get("events") if isinstance(body, dict) else None
        return Handshake(200, b"", "text/plain", store=bool(events) or not isinstance(events, list))

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        return {
            **self._locator_headers(delivery_id, event_type),
            _SIGNATURE: self._signature(self._keys[0], body),
        }

    @staticmethod
    def _signature(key: bytes, body: bytes) -> str:
        return encode(digest("sha256", key, body), "base64")
