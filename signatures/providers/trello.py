"""Trello: ``X-Trello-Webhook: <base64>``, HMAC-SHA1 over the raw body followed by the callback URL."""

from __future__ import annotations

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["TrelloVerifier"]

_HEADER = "X-Trello-Webhook"


@register
class TrelloVerifier(Verifier):
    """Trello webhooks (https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/), signed
    with the application's OAuth secret; ``public_url`` must be the ``callbackURL`` exactly as registered.

    Trello checks a new webhook's URL with an unsigned HEAD that must answer 200 before it saves the
    webhook; that check is the gateway's to answer (``answers_head``), not a delivery to verify.
    """

    name = "trello"
    signs_url = True
    answers_head = True
    signature_headers = frozenset({_HEADER.lower()})
    default_delivery_id = "json:action.id"
    default_event_type = "json:action.type"

    def verify(self, delivery: Delivery) -> None:
        given = self._header(delivery, _HEADER).strip()
        if not given:
            raise MalformedHeader(f"{_HEADER} must hold a base64 digest")
        expected = (self._signature(key, delivery.body, delivery.url) for key in self._keys)
        if not matches_any(expected, [given]):
            raise SignatureMismatch(f"{_HEADER} does not match the body and callback URL")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
        url: str = "",
    ) -> dict[str, str]:
        """Sign ``body`` as if Trello posted it to ``url``, the callback URL the receiver checks."""
        return {_HEADER: self._signature(self._keys[0], body, url)}

    @staticmethod
    def _signature(key: bytes, body: bytes, url: str) -> str:
        return encode(digest("sha1", key, body + url.encode("utf-8", "surrogatepass")), "base64")
