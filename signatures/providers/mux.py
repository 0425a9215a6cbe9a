"""Mux: ``Mux-Signature: t=<unix>,v1=<hex>``, HMAC-SHA256 over ``"{t}." + body``."""

from __future__ import annotations

import re

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["MuxVerifier"]

_HEADER = "Mux-Signature"
_HEX = re.compile(r"[0-9a-fA-F]+")


@register
class MuxVerifier(Verifier):
    """Mux webhooks; five minutes of tolerance as in Mux's own SDK, any v1 signature may match."""

    name = "mux"
    default_tolerance = 300
    signature_headers = frozenset({_HEADER.lower()})
    default_delivery_id = "json:id"
    default_event_type = "json:type"

    def verify(self, delivery: Delivery) -> None:
        timestamps: list[str] = []
        signatures: list[str] = []
        for item in self._header(delivery, _HEADER).split(","):
            key, _, value = item.strip().partition("=")
            if key == "t":
                timestamps.append(value)
            elif key == "v1" and _HEX.fullmatch(value):
                signatures.append(value.lower())
        if len(timestamps) != 1 or not signatures:
            raise MalformedHeader(f"{_HEADER} must hold one t=<timestamp> and at least one v1=<signature>")
        timestamp = parse_timestamp(timestamps[0], _HEADER)
        expected = (self._signature(key, timestamp, delivery.body) for key in self._keys)
        if not matches_any(expected, signatures):
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
