"""Zoom: ``x-zm-signature: v0=<hex>``, HMAC-SHA256 over ``"v0:{x-zm-request-timestamp}:" + body``."""

from __future__ import annotations

import json
import re

from signatures.base import Handshake, Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch, VerificationError
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["ZoomVerifier"]

_SIGNATURE = "x-zm-signature"
_TIMESTAMP = "x-zm-request-timestamp"
_V0 = re.compile(r"v0=([0-9a-fA-F]{64})")


@register
class ZoomVerifier(Verifier):
    """Zoom webhooks signed with the app's secret token; answers the ``endpoint.url_validation`` check.

    Zoom documents no delivery id, so the gateway falls back to the body hash (a retry carries
    the same body).
    """

    name = "zoom"
    default_tolerance = 300
    signature_headers = frozenset({_SIGNATURE, _TIMESTAMP})
    default_event_type = "json:event"

    def verify(self, delivery: Delivery) -> None:
        if self._matching_key(delivery) is None:
            raise SignatureMismatch(f"{_SIGNATURE} does not match the body and timestamp")
        self._check_time(parse_timestamp(self._header(delivery, _TIMESTAMP), _TIMESTAMP))

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """Answer ``endpoint.url_validation`` with the token and its HMAC under the signing secret."""
        payload = delivery.json()
        if not isinstance(payload, dict) or payload.get("event") != "endpoint.url_validation":
            return None
        inner = payload.get("payload")
        plain = inner.get("plainToken") if isinstance(inner, dict) else None
        if not isinstance(plain, str):
            return None
        # During a rotation, answer with the secret Zoom used for this request.
        try:
            key = self._matching_key(delivery) or self._keys[0]
        except VerificationError:
            key = self._keys[0]
        encrypted = encode(digest("sha256", key, plain.encode("utf-8", "surrogatepass")), "hex")
        answer = {"plainToken": plain, "encryptedToken": encrypted}
        return Handshake(200, json.dumps(answer).encode(), "application/json")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        t = str(self._now(timestamp))
        return {
            **self._locator_headers(delivery_id, event_type),
            _TIMESTAMP: t,
            _SIGNATURE: "v0=" + self._signature(self._keys[0], t, body),
        }

    def _matching_key(self, delivery: Delivery) -> bytes | None:
        """The configured key whose signature the delivery carries; None when none does."""
        raw_timestamp = self._header(delivery, _TIMESTAMP).strip()
        parse_timestamp(raw_timestamp, _TIMESTAMP)
        found = _V0.fullmatch(self._header(delivery, _SIGNATURE).strip())
        if found is None:
            raise MalformedHeader(f"{_SIGNATURE} must look like v0=<hex>")
        given = found.group(1).lower()
        for key in self._keys:
            if matches_any([self._signature(key, raw_timestamp, delivery.body)], [given]):
                return key
        return None

    @staticmethod
    def _signature(key: bytes, timestamp: str, body: bytes) -> str:
        return encode(digest("sha256", key, f"v0:{timestamp}:".encode() + body), "hex")
