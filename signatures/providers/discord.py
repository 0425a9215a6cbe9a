"""Discord interactions and webhook events: ``X-Signature-Ed25519``, Ed25519 over timestamp + body."""

from __future__ import annotations

import binascii
from typing import Any

from signatures.asymmetric import PublicKeyVerifier, ed25519_key_from_hex, ed25519_verifies
from signatures.base import Handshake
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import parse_timestamp
from signatures.locator import Locator
from signatures.registry import register

__all__ = ["DiscordVerifier"]

_SIGNATURE = "X-Signature-Ed25519"
_TIMESTAMP = "X-Signature-Timestamp"
_WEBHOOK_EVENT_TYPE = Locator("json", "event.type")
_INTERACTION_TYPE = Locator("json", "type")
_WEBHOOK_PING = 0  # webhook events: {"version": 1, "application_id": ..., "type": 0}
_INTERACTION_PING = 1  # interactions: {"type": 1, "id": ..., "token": ...}


def _payload_type(body: Any) -> int | None:
    """The top-level ``type`` of a JSON object body, None when absent or not an integer."""
    kind = body.get("type") if isinstance(body, dict) else None
    return kind if isinstance(kind, int) and not isinstance(kind, bool) else None


def _is_webhook_event(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("event"), dict)


@register
class DiscordVerifier(PublicKeyVerifier):
    """Discord interactions and webhook events; ``secrets`` hold the application's hex public key(s)."""

    name = "discord"
    key_description = "a hex Ed25519 public key (the application's PUBLIC KEY)"
    # Discord publishes no window; five minutes as for the other timed providers.
    default_tolerance = 300
    signature_headers = frozenset({"x-signature-ed25519", "x-signature-timestamp"})
    default_delivery_id = "json:id"

    def _parse_key(self, text: str) -> bytes:
        return ed25519_key_from_hex(text)

    def _signed_by(self, key: bytes, signature: bytes, message: bytes) -> bool:
        return ed25519_verifies(key, signature, message)

    def verify(self, delivery: Delivery) -> None:
        signature_hex = self._header(delivery, _SIGNATURE).strip()
        timestamp_text = self._header(delivery, _TIMESTAMP)
        timestamp = parse_timestamp(timestamp_text, _TIMESTAMP)
        try:
            signature = binascii.unhexlify(signature_hex)
        except (binascii.Error, ValueError):
            raise MalformedHeader(f"{_SIGNATURE} must hold a hex signature") from None
        if len(signature) != 64:
            raise MalformedHeader(f"{_SIGNATURE} must hold a 64-byte Ed25519 signature")
        if not self._signed_by_any(signature, timestamp_text.encode("utf-8") + delivery.body):
            raise SignatureMismatch(f"{_SIGNATURE} does not match the timestamp and body")
        self._check_time(timestamp)

    def event_type(self, delivery: Delivery) -> str | None:
        """A configured locator wins; else ``event.type`` for webhook events, ``type`` for interactions."""
        if self._event_type is not None:
            return self._event_type.find(delivery)
        if _is_webhook_event(delivery.json()):
            return _WEBHOOK_EVENT_TYPE.find(delivery)
        return _INTERACTION_TYPE.find(delivery)

    def handshake(self, delivery: Delivery) -> Handshake | None:
        body = delivery.json()
        kind = _payload_type(body)
        if kind == _WEBHOOK_PING:
            return Handshake(204, b"", "text/plain")
        if kind == _INTERACTION_PING and not _is_webhook_event(body):
            return Handshake(200, b'{"type": 1}', "application/json")
        return None
