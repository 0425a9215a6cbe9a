"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>``, HMAC-SHA256 over ``"{t}." + body``."""

from __future__ import annotations

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["StripeVerifier"]

_HEADER = "Stripe-Signature"


@register
class StripeVerifier(Verifier):
    """Stripe webhooks; any v1 signature may match any secret, v0 (test mode) is ignored."""

    name = "stripe"
    default_tolerance = 300
    signature_headers = frozenset({"stripe-signature"})
    default_delivery_id = "json:id"
    default_event_type = "json:type"

    def verify(self, delivery: Delivery) -> None:
        timestamps: list[str] = []
        signatures: list[str] = []
        for item in self._header(delivery, _HEADER).split(","):
            key, _, value = item.strip().partition("=")
            if key == "t":
                timestamps.append(value)
            elif key == "v1":
                signatures.append(value)
        if len(timestamps) != 1 or not signatures:
            raise MalformedHeader(f"{_HEADER} must hold one t=<timestamp> and at least one v1=<signature>")
        timestamp = parse_timestamp(timestamps[0], _HEADER)
        if not matches_any(
            (self._signature(key, timestamp, delivery.body) for key in self._keys), signatures
        ):
            raise SignatureMismatch(f"no v1 signature in {_HEADER} matches the body")
        self._check_time(timestamp)

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        t = self._now(timestamp)
        return {
            **self._locator_headers(delivery_id, event_type),
            _HEADER: f"t={t},v1={self._signature(self._keys[0], t, body)}",
        }

    @staticmethod
    def _signature(key: bytes, timestamp: int, body: bytes) -> str:
        return encode(digest("sha256", key, f"{timestamp}.".encode() + body), "hex")
