"""Okta event hooks: a configured auth header compared with the secret; a GET verification challenge."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from signatures.base import Handshake
from signatures.delivery import Delivery
from signatures.providers.token import TokenVerifier
from signatures.registry import register

__all__ = ["OktaVerifier"]

_CHALLENGE = "X-Okta-Verification-Challenge"


@register
class OktaVerifier(TokenVerifier):
    """Okta event hooks; ``secrets`` are the hook's authentication secret, sent whole in ``header``.

    Okta batches events: ``eventType`` is always ``com.okta.event_hook``, the events are in ``data.events``.
    """

    name = "okta"
    options = frozenset({"header"})
    answers_get = True
    default_delivery_id = "json:eventId"
    default_event_type = "json:eventType"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": options.get("header", "Authorization")})

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """The one-time verification: a GET whose challenge header is echoed back as JSON."""
        challenge = delivery.header(_CHALLENGE)
        if delivery.method.upper() != "GET" or challenge is None:
            return None
        return Handshake(200, json.dumps({"verification": challenge}).encode(), "application/json")
