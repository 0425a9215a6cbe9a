"""Paddle Billing: ``Paddle-Signature: ts=<unix>;h1=<hex>``, HMAC-SHA256 over ``"{ts}:" + body``."""

from __future__ import annotations

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["PaddleVerifier"]

_HEADER = "Paddle-Signature"


@register
class PaddleVerifier(Verifier):
    """Paddle Billing notifications (not Paddle Classic); any h1 may match any destination secret.

    The tolerance is Paddle's own SDK default of five seconds. Deliveries are deduplicated on
    ``event_id``, the key Paddle's docs name: retries and replays of a notification share it.
    """

    name = "paddle"
    default_tolerance = 5
    signature_headers = frozenset({_HEADER.lower()})
    default_delivery_id = "json:event_id"
    default_event_type = "json:event_type"

    def verify(self, delivery: Delivery) -> None:
        timestamps: list[str] = []
        signatures: list[str] = []
        for item in self._header(delivery, _HEADER).split(";"):
            key, _, value = item.strip().partition("=")
            if key == "ts":
                timestamps.append(value)
            elif key == "h1":
                signatures.append(value.strip().lower())
        if len(timestamps) != 1 or not signatures:
            raise MalformedHeader(f"{_HEADER} must hold one ts=<timestamp> and at least one h1=<signature>")
        timestamp = parse_timestamp(timestamps[0], _HEADER)
        expected = (self._signature(key, timestamp, delivery.body) for key in self._keys)
        if not matches_any(expected, signatures):
            raise SignatureMismatch(f"no h1 signature in {_HEADER} matches the body")
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
            _HEADER: f"ts={t};h1={self._signature(self._keys[0], t, body)}",
        }

    @staticmethod
    def _signature(key: bytes, timestamp: int, body: bytes) -> str:
        return encode(digest("sha256", key, f"{timestamp}:".encode() + body), "hex")
