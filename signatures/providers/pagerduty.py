"""PagerDuty v3: ``X-PagerDuty-Signature: v1=<hex>,v1=<hex>``, HMAC-SHA256 of the raw body."""

from __future__ import annotations

import re

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["PagerDutyVerifier"]

_HEADER = "X-PagerDuty-Signature"
_HEX = re.compile(r"[0-9a-fA-F]+")


@register
class PagerDutyVerifier(Verifier):
    """PagerDuty v3 webhook subscriptions; the header lists one v1 signature per active secret."""

    name = "pagerduty"
    signature_headers = frozenset({_HEADER.lower()})
    default_delivery_id = "json:event.id"
    default_event_type = "json:event.event_type"

    def verify(self, delivery: Delivery) -> None:
        given = []
        for item in self._header(delivery, _HEADER).split(","):
            version, _, signature = item.strip().partition("=")
            if version == "v1" and _HEX.fullmatch(signature):
                given.append(signature.lower())
        if not given:
            raise MalformedHeader(f"{_HEADER} holds no v1=<hex signature> entry")
        expected = (encode(digest("sha256", key, delivery.body), "hex") for key in self._keys)
        if not matches_any(expected, given):
            raise SignatureMismatch(f"no v1 signature in {_HEADER} matches the body")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        signature = encode(digest("sha256", self._keys[0], body), "hex")
        return {**self._locator_headers(delivery_id, event_type), _HEADER: f"v1={signature}"}
