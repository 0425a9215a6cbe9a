"""Telnyx (API v2): ``telnyx-signature-ed25519: <base64>``, Ed25519 over ``"{telnyx-timestamp}|" + body``."""

from __future__ import annotations

import base64
import binascii

from signatures.asymmetric import PublicKeyVerifier, ed25519_verifies
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import parse_timestamp
from signatures.registry import register

__all__ = ["TelnyxVerifier"]

_SIGNATURE = "telnyx-signature-ed25519"
_TIMESTAMP = "telnyx-timestamp"


@register
class TelnyxVerifier(PublicKeyVerifier):
    """Telnyx webhooks (https://developers.telnyx.com/docs/development/sdk/python/webhooks); ``secrets``
    hold the account's base64 public key(s) from the Mission Control Portal.

    The tolerance is the five minutes of Telnyx's own SDK. Retries keep the event's ``data.id``.
    """

    name = "telnyx"
    key_description = "a base64 Ed25519 public key (the account's public key in Mission Control)"
    default_tolerance = 300
    signature_headers = frozenset({_SIGNATURE, _TIMESTAMP})
    default_delivery_id = "json:data.id"
    default_event_type = "json:data.event_type"

    def _parse_key(self, text: str) -> bytes:
        raw = base64.b64decode(text.strip(), validate=True)
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key has 32 bytes")
        return raw

    def _signed_by(self, key: bytes, signature: bytes, message: bytes) -> bool:
        return ed25519_verifies(key, signature, message)

    def verify(self, delivery: Delivery) -> None:
        signature_text = self._header(delivery, _SIGNATURE).strip()
        timestamp_text = self._header(delivery, _TIMESTAMP)
        timestamp = parse_timestamp(timestamp_text, _TIMESTAMP)
        try:
            signature = base64.b64decode(signature_text, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedHeader(f"{_SIGNATURE} must hold a base64 signature") from None
        if len(signature) != 64:
            raise MalformedHeader(f"{_SIGNATURE} must hold a 64-byte Ed25519 signature")
        message = timestamp_text.encode("utf-8", "surrogatepass") + b"|" + delivery.body
        if not self._signed_by_any(signature, message):
            raise SignatureMismatch(f"{_SIGNATURE} does not match the timestamp and body")
        self._check_time(timestamp)
