"""Paddle Billing: ``Paddle-Signature: ts=<unix>;h1=<hex>``, HMAC-SHA256 over ``"{ts}:" + body``."""

from __future__ import annotations

from signatures.registry import register
from signatures.timestamped import TimestampedHmacVerifier

__all__ = ["PaddleVerifier"]


@register
class PaddleVerifier(TimestampedHmacVerifier):
    """Paddle Billing notifications (not Paddle Classic); any h1 may match any destination secret.

    The tolerance is Paddle's own SDK default of five seconds. Deliveries are deduplicated on
    ``event_id``, the key Paddle's docs name: retries and replays of a notification share it.
    """

    name = "paddle"
    header = "Paddle-Signature"
    separator = ";"
    timestamp_key = "ts"
    signature_key = "h1"
    joiner = ":"
    default_tolerance = 5
    signature_headers = frozenset({"paddle-signature"})
    default_delivery_id = "json:event_id"
    default_event_type = "json:event_type"
