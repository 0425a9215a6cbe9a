"""Intercom: ``X-Hub-Signature: sha1=<hex>``, HMAC-SHA1 of the raw body under the app's client secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["IntercomVerifier"]


@register
class IntercomVerifier(HmacVerifier):
    """Intercom notifications; the ``ping`` topic sent on registration is an ordinary event."""

    name = "intercom"
    options = frozenset()
    default_delivery_id = "json:id"
    default_event_type = "json:topic"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "X-Hub-Signature", "algorithm": "sha1", "prefix": "sha1="})
