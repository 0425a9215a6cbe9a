"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>``, HMAC-SHA256 over ``"{t}." + body``."""

from __future__ import annotations

from signatures.registry import register
from signatures.timestamped import TimestampedHmacVerifier

__all__ = ["StripeVerifier"]


@register
class StripeVerifier(TimestampedHmacVerifier):
    """Stripe webhooks; any v1 signature may match any secret, v0 (test mode) is ignored."""

    name = "stripe"
    header = "Stripe-Signature"
    default_tolerance = 300
    signature_headers = frozenset({"stripe-signature"})
    default_delivery_id = "json:id"
    default_event_type = "json:type"
