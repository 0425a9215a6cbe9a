"""Svix: the Standard Webhooks scheme under ``svix-*`` header names."""

from __future__ import annotations

from signatures.providers.standard_webhooks import HeaderNames, StandardWebhooksVerifier
from signatures.registry import register

__all__ = ["SvixVerifier"]


@register
class SvixVerifier(StandardWebhooksVerifier):
    """Svix deliveries; falls back to the ``webhook-*`` names when the ``svix-*`` ones are absent."""

    name = "svix"
    header_names = (
        HeaderNames("svix-id", "svix-timestamp", "svix-signature"),
        *StandardWebhooksVerifier.header_names,
    )
    signature_headers = frozenset({"svix-signature", "webhook-signature"})
    default_delivery_id = "header:svix-id"
