"""WooCommerce: ``X-WC-Webhook-Signature: <base64>``, HMAC-SHA256 of the raw body; and the unsigned ping
a webhook sends its delivery URL when it is first activated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from signatures.base import Handshake
from signatures.delivery import Delivery
from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["WooCommerceVerifier"]

_SIGNATURE = "X-WC-Webhook-Signature"
# WC_Webhook::deliver_ping() posts exactly this, with no signature, and wants a 200.
_PING = re.compile(rb"webhook_id=[0-9]{1,20}")


def _is_ping(delivery: Delivery) -> bool:
    return delivery.header(_SIGNATURE) is None and _PING.fullmatch(delivery.body) is not None


@register
class WooCommerceVerifier(HmacVerifier):
    """WooCommerce webhooks (https://developer.woocommerce.com/docs/apis/rest-api/v3/webhooks/).

    The activation ping is not signed, so it is accepted only in its exact form (``webhook_id=<n>``, no
    signature header) and carries nothing else; it is answered 200 as WooCommerce requires.
    ``X-WC-Webhook-Delivery-ID`` is not a dedupe key: WooCommerce hashes the webhook id with the current
    second, so two deliveries in one second share it. The gateway dedupes on the body instead.
    """

    name = "woocommerce"
    options = frozenset()
    default_event_type = "header:X-WC-Webhook-Topic"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": _SIGNATURE, "encoding": "base64"})

    def verify(self, delivery: Delivery) -> None:
        if not _is_ping(delivery):
            super().verify(delivery)

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """The activation ping's 200, storing nothing (it is unsigned); None for ordinary deliveries."""
        return Handshake(200, b"", "text/plain", store=False) if _is_ping(delivery) else None
