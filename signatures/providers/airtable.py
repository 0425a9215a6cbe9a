"""Airtable: ``X-Airtable-Content-MAC: hmac-sha256=<hex>``, HMAC-SHA256 of the raw body under the
base64-decoded ``macSecretBase64`` that creating the webhook returned."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from signatures.base import Handshake
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError
from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["AirtableVerifier"]


@register
class AirtableVerifier(HmacVerifier):
    """Airtable webhook notifications (https://airtable.com/developers/web/api/webhooks-overview).

    A notification only says that base ``base.id`` changed for webhook ``webhook.id`` at ``timestamp``; the
    changes are fetched from the payloads endpoint. It carries no id of its own, so the gateway dedupes on
    the body (which holds that timestamp). Airtable wants 200 or 204 with an empty body, where the gateway
    answers a new event 202 with JSON, so every verified notification is answered as a handshake.
    """

    name = "airtable"
    options = frozenset()

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "X-Airtable-Content-MAC", "prefix": "hmac-sha256="})

    def _key(self, index: int, secret: str) -> bytes:
        try:
            key = base64.b64decode(secret.strip(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not key:
            raise ConfigurationError(
                f"airtable: secret #{index + 1} is not base64 (give the webhook's macSecretBase64 as it is)"
            )
        return key

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """204 with no body for every verified notification."""
        return Handshake(204, b"", "text/plain")
