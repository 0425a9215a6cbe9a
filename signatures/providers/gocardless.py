"""GoCardless: ``Webhook-Signature: <hex>``, HMAC-SHA256 of the raw body under the endpoint's secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["GoCardlessVerifier"]


@register
class GoCardlessVerifier(HmacVerifier):
    """GoCardless webhooks (https://developer.gocardless.com/getting-started/api/staying-up-to-date-with-webhooks).

    A webhook is a batch of unrelated events, so it has no one event type; ``meta.webhook_id`` (read by the
    SDK's ``parse_with_meta``) names the webhook and is the dedupe key. GoCardless asks for 498 on a bad
    signature; the gateway answers 401, which GoCardless also counts as a failure.
    """

    name = "gocardless"
    options = frozenset()
    default_delivery_id = "json:meta.webhook_id"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "Webhook-Signature"})
