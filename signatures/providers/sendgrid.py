"""SendGrid (Twilio) signed Event Webhook: ECDSA P-256/SHA-256 over ``timestamp + body``, base64 DER."""

from __future__ import annotations

import base64
import binascii

from signatures.asymmetric import PublicKeyVerifier, p256_key_from_base64_der, p256_verifies
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import parse_timestamp
from signatures.registry import register

__all__ = ["SendGridVerifier"]

_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@register
class SendGridVerifier(PublicKeyVerifier):
    """SendGrid event batches; ``secrets`` hold the verification key(s) from Mail Settings (base64 DER).

    A delivery is a JSON array of events of mixed types with no batch id, so there is no default
    delivery id (the gateway dedupes on the body) nor event type.
    """

    name = "sendgrid"
    key_description = "a base64 DER P-256 public key (the Signed Event Webhook verification key)"
    # SendGrid publishes no window; five minutes as for the other timed providers.
    default_tolerance = 300
    signature_headers = frozenset({_SIGNATURE.lower(), _TIMESTAMP.lower()})

    def _parse_key(self, text: str) -> bytes:
        return p256_key_from_base64_der(text)

    def _signed_by(self, key: bytes, signature: bytes, message: bytes) -> bool:
        return p256_verifies(key, signature, message)

    def verify(self, delivery: Delivery) -> None:
        signature_b64 = self._header(delivery, _SIGNATURE).strip()
        timestamp_text = self._header(delivery, _TIMESTAMP)
        timestamp = parse_timestamp(timestamp_text, _TIMESTAMP)
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedHeader(f"{_SIGNATURE} must hold a base64 signature") from None
        if not signature:
            raise MalformedHeader(f"{_SIGNATURE} must hold a base64 signature")
        if not self._signed_by_any(signature, timestamp_text.encode("utf-8") + delivery.body):
            raise SignatureMismatch(f"{_SIGNATURE} does not match the timestamp and body")
        self._check_time(timestamp)
