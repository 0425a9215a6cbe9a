"""DocuSign Connect: ``X-DocuSign-Signature-1`` … ``-N``, one base64 HMAC-SHA256 of the body per HMAC key
configured on the Connect configuration; a delivery is genuine when any header matches any secret.

https://developers.docusign.com/platform/webhooks/connect/validate/ (the key's text is the HMAC key, not
decoded; the whole body is signed) and https://developers.docusign.com/platform/webhooks/connect/hmac/.
"""

from __future__ import annotations

import re

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, MissingHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["DocuSignVerifier"]

_HEADER = re.compile(r"x-docusign-signature-([1-9][0-9]{0,2})")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{43}=")


@register
class DocuSignVerifier(Verifier):
    """DocuSign Connect (JSON or XML); ``secrets`` are the Connect HMAC keys, as DocuSign shows them."""

    name = "docusign"
    signature_headers = frozenset({"x-docusign-signature-1"})  # and -2 … -N, one per active key
    default_event_type = "json:event"

    def verify(self, delivery: Delivery) -> None:
        given = [value.strip() for name, value in delivery.headers.items() if _HEADER.fullmatch(name)]
        if not given:
            raise MissingHeader("missing X-DocuSign-Signature-1 header")
        if not all(_BASE64.fullmatch(value) for value in given):
            raise MalformedHeader("every X-DocuSign-Signature-N header must hold a base64 HMAC-SHA256")
        if not matches_any((self._signature(key, delivery.body) for key in self._keys), given):
            raise SignatureMismatch("no X-DocuSign-Signature-N header matches the body")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        """One ``X-DocuSign-Signature-N`` per configured key, as DocuSign sends one per active key."""
        headers = {**self._locator_headers(delivery_id, event_type), "X-Authorization-Digest": "HMACSHA256"}
        for number, key in enumerate(self._keys, start=1):
            headers[f"X-DocuSign-Signature-{number}"] = self._signature(key, body)
        return headers

    @staticmethod
    def _signature(key: bytes, body: bytes) -> str:
        return encode(digest("sha256", key, body), "base64")
