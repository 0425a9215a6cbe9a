"""Shopify: ``X-Shopify-Hmac-Sha256``, base64 HMAC-SHA256 of the raw body under the client secret."""

from __future__ import annotations

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["ShopifyVerifier"]

_HEADER = "X-Shopify-Hmac-Sha256"


@register
class ShopifyVerifier(Verifier):
    """Shopify webhooks over HTTPS; Shopify signs no timestamp, so there is no tolerance.

    Duplicates share ``X-Shopify-Webhook-Id`` (Shopify's "Verify webhook deliveries" guide);
    ``X-Shopify-Event-Id`` names the underlying event, shared by every subscription to it.
    """

    name = "shopify"
    signature_headers = frozenset({_HEADER.lower()})
    default_delivery_id = "header:X-Shopify-Webhook-Id"
    default_event_type = "header:X-Shopify-Topic"

    def verify(self, delivery: Delivery) -> None:
        given = self._header(delivery, _HEADER).strip()
        if not given:
            raise MalformedHeader(f"{_HEADER} must hold a base64 digest")
        expected = (encode(digest("sha256", key, delivery.body), "base64") for key in self._keys)
        if not matches_any(expected, [given]):
            raise SignatureMismatch(f"{_HEADER} does not match the body")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        return {
            **self._locator_headers(delivery_id, event_type),
            _HEADER: encode(digest("sha256", self._keys[0], body), "base64"),
        }
