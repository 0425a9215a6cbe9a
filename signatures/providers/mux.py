"""Mux: ``Mux-Signature: t=<unix>,v1=<hex>``, HMAC-SHA256 over ``"{t}." + body`` (Stripe's scheme)."""

from __future__ import annotations

from signatures.registry import register
from signatures.timestamped import TimestampedHmacVerifier

__all__ = ["MuxVerifier"]


@register
class MuxVerifier(TimestampedHmacVerifier):
    """Mux webhooks; five minutes of tolerance as in Mux's own SDK, any v1 signature may match."""

    name = "mux"
    header = "Mux-Signature"
    default_tolerance = 300
    signature_headers = frozenset({"mux-signature"})
    default_delivery_id = "json:id"
    default_event_type = "json:type"
