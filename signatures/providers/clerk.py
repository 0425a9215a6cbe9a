"""Clerk: webhooks delivered by Svix (``svix-id``, ``svix-timestamp``, ``svix-signature``)."""

from __future__ import annotations

from signatures.providers.svix import SvixVerifier
from signatures.registry import register

__all__ = ["ClerkVerifier"]


@register
class ClerkVerifier(SvixVerifier):
    """Clerk webhooks; the secret is the endpoint's ``whsec_...`` signing secret."""

    name = "clerk"
