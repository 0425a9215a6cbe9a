"""Typeform: ``Typeform-Signature: sha256=<base64>``, HMAC-SHA256 of the raw body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["TypeformVerifier"]


@register
class TypeformVerifier(HmacVerifier):
    """Typeform webhooks; the secret is the one set on the webhook (no timestamp is signed)."""

    name = "typeform"
    options = frozenset()
    default_delivery_id = "json:event_id"
    default_event_type = "json:event_type"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "Typeform-Signature", "encoding": "base64", "prefix": "sha256="})
