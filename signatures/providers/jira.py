"""Jira (Atlassian admin webhooks with a secret): ``X-Hub-Signature: sha256=<hex>``, HMAC-SHA256 of the body.

https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks (the WebSub
``method=signature`` form; Jira signs with sha256 only) and, for Jira Data Center,
https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html. Webhooks that apps
register (Connect, OAuth 2.0) are not signed this way and are refused.
"""

from __future__ import annotations

import re

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["JiraVerifier"]

_SIGNATURE = "X-Hub-Signature"
_SHA256 = re.compile(r"sha256=([0-9a-fA-F]{64})")


@register
class JiraVerifier(Verifier):
    """Jira admin webhooks; ``X-Atlassian-Webhook-Identifier`` is the same across a delivery's retries."""

    name = "jira"
    signature_headers = frozenset({_SIGNATURE.lower()})
    default_delivery_id = "header:X-Atlassian-Webhook-Identifier"
    default_event_type = "json:webhookEvent"

    def verify(self, delivery: Delivery) -> None:
        found = _SHA256.fullmatch(self._header(delivery, _SIGNATURE).strip())
        if found is None:
            raise MalformedHeader(f"{_SIGNATURE} must look like sha256=<hex>")
        expected = (encode(digest("sha256", key, delivery.body), "hex") for key in self._keys)
        if not matches_any(expected, [found.group(1).lower()]):
            raise SignatureMismatch(f"{_SIGNATURE} does not match the body")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        signature = "sha256=" + encode(digest("sha256", self._keys[0], body), "hex")
        return {**self._locator_headers(delivery_id, event_type), _SIGNATURE: signature}
