"""Sentry integration platform: ``Sentry-Hook-Signature: <hex>``, HMAC-SHA256 of the raw body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["SentryVerifier"]


@register
class SentryVerifier(HmacVerifier):
    """Sentry integration webhooks (https://docs.sentry.io/integrations/integration-platform/webhooks/),
    signed with the integration's Client Secret.

    ``Sentry-Hook-Timestamp`` is not signed, so it bounds nothing and no tolerance applies. The event type is
    the resource (``issue``, ``event_alert``, ``installation``, …); the body's ``action`` refines it.
    """

    name = "sentry"
    options = frozenset()
    default_delivery_id = "header:Request-ID"
    default_event_type = "header:Sentry-Hook-Resource"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "Sentry-Hook-Signature"})
