"""Vercel: ``x-vercel-signature: <hex>``, HMAC-SHA1 of the raw body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["VercelVerifier"]


@register
class VercelVerifier(HmacVerifier):
    """Vercel webhooks (https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks); the secret is the
    account webhook's secret, or the integration's Client Secret for integration webhooks."""

    name = "vercel"
    options = frozenset()
    default_delivery_id = "json:id"
    default_event_type = "json:type"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "x-vercel-signature", "algorithm": "sha1"})
