"""Resend: webhooks delivered by Svix (``svix-id``, ``svix-timestamp``, ``svix-signature``)."""

from __future__ import annotations

from signatures.providers.svix import SvixVerifier
from signatures.registry import register

__all__ = ["ResendVerifier"]


@register
class ResendVerifier(SvixVerifier):
    """Resend webhooks; the secret is the webhook's ``whsec_...`` signing secret."""

    name = "resend"
