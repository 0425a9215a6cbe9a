"""Bitbucket: ``X-Hub-Signature: sha256=<hex>``, HMAC-SHA256 of the raw body (Cloud and Data Center)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.delivery import Delivery
from signatures.locator import Locator
from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["BitbucketVerifier"]

_CLOUD_REQUEST = Locator("header", "X-Request-UUID")
_DATA_CENTER_REQUEST = "X-Request-Id"


@register
class BitbucketVerifier(HmacVerifier):
    """Bitbucket webhooks with a secret (https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/,
    https://confluence.atlassian.com/bitbucketserver/event-payload-938025882.html).

    Unlike GitHub's header of the same name, Bitbucket's ``X-Hub-Signature`` holds SHA-256. Cloud names the
    request in ``X-Request-UUID``, Data Center in ``X-Request-Id``; either is the dedupe key.
    """

    name = "bitbucket"
    options = frozenset()
    default_delivery_id = str(_CLOUD_REQUEST)
    default_event_type = "header:X-Event-Key"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "X-Hub-Signature", "prefix": "sha256="})

    def delivery_id(self, delivery: Delivery) -> str | None:
        """The configured locator's value; by default Cloud's request UUID, else Data Center's request id."""
        found = super().delivery_id(delivery)
        if found is None and self._delivery_id == _CLOUD_REQUEST:
            return delivery.header(_DATA_CENTER_REQUEST)
        return found
