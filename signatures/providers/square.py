"""Square: ``x-square-hmacsha256-signature``, base64 HMAC-SHA256 over notification URL + body."""

from __future__ import annotations

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["SquareVerifier"]

_HEADER = "x-square-hmacsha256-signature"


@register
class SquareVerifier(Verifier):
    """Square webhooks; the URL must be the subscription's notification URL exactly as registered."""

    name = "square"
    signs_url = True
    signature_headers = frozenset({_HEADER})
    default_delivery_id = "json:event_id"
    default_event_type = "json:type"

    def verify(self, delivery: Delivery) -> None:
        given = self._header(delivery, _HEADER).strip()
        if not given:
            raise MalformedHeader(f"{_HEADER} must hold a base64 digest")
        expected = (self._signature(key, delivery.url, delivery.body) for key in self._keys)
        if not matches_any(expected, [given]):
            raise SignatureMismatch(f"{_HEADER} does not match the notification URL and body")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
        url: str = "",
    ) -> dict[str, str]:
        """Sign ``body`` as if Square posted it to ``url``, the notification URL the receiver checks."""
        return {
            **self._locator_headers(delivery_id, event_type),
            _HEADER: self._signature(self._keys[0], url, body),
        }

    @staticmethod
    def _signature(key: bytes, url: str, body: bytes) -> str:
        return encode(digest("sha256", key, url.encode("utf-8", "surrogatepass") + body), "base64")
