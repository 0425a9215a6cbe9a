"""Razorpay: ``X-Razorpay-Signature: <hex>``, HMAC-SHA256 of the raw body under the webhook secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["RazorpayVerifier"]


@register
class RazorpayVerifier(HmacVerifier):
    """Razorpay webhooks (https://razorpay.com/docs/webhooks/validate-test/); the secret is the one set on
    the webhook, not the API key secret. Retries keep ``X-Razorpay-Event-Id``, the key Razorpay's docs name
    for duplicates. No timestamp is signed."""

    name = "razorpay"
    options = frozenset()
    default_delivery_id = "header:X-Razorpay-Event-Id"
    default_event_type = "json:event"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "X-Razorpay-Signature"})
