"""The shared scheme of Stripe, Mux and Paddle: one header holding a timestamp and one or more
HMAC-SHA256 hex signatures of ``"{timestamp}{joiner}" + body``, any of which may match any secret."""

from __future__ import annotations

from typing import ClassVar

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any, parse_timestamp

__all__ = ["TimestampedHmacVerifier"]


class TimestampedHmacVerifier(Verifier):
    """A provider sets ``header`` and, where they differ from Stripe's, the item ``separator``,
    the ``timestamp_key``, the ``signature_key`` and the ``joiner`` between timestamp and body."""

    header: ClassVar[str]
    separator: ClassVar[str] = ","
    timestamp_key: ClassVar[str] = "t"
    signature_key: ClassVar[str] = "v1"
    joiner: ClassVar[str] = "."

    def verify(self, delivery: Delivery) -> None:
        timestamps: list[str] = []
        signatures: list[str] = []
        for item in self._header(delivery, self.header).split(self.separator):
            key, _, value = item.strip().partition("=")
            if key == self.timestamp_key:
                timestamps.append(value)
            elif key == self.signature_key:
                signatures.append(value.strip().lower())
        if len(timestamps) != 1 or not signatures:
            raise MalformedHeader(
                f"{self.header} must hold one {self.timestamp_key}=<timestamp> "
                f"and at least one {self.signature_key}=<signature>"
            )
        timestamp = parse_timestamp(timestamps[0], self.header)
        if not matches_any(
            (self._signature(key, timestamp, delivery.body) for key in self._keys), signatures
        ):
            raise SignatureMismatch(f"no {self.signature_key} signature in {self.header} matches the body")
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
        signature = self._signature(self._keys[0], t, body)
        value = f"{self.timestamp_key}={t}{self.separator}{self.signature_key}={signature}"
        return {**self._locator_headers(delivery_id, event_type), self.header: value}

    def _signature(self, key: bytes, timestamp: int, body: bytes) -> str:
        return encode(digest("sha256", key, f"{timestamp}{self.joiner}".encode() + body), "hex")
