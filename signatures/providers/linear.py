"""Linear: ``Linear-Signature: <hex>``, HMAC-SHA256 of the raw body; ``webhookTimestamp`` (ms) in the body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, MissingHeader
from signatures.hmac import parse_timestamp
from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["LinearVerifier"]

_TIMESTAMP_FIELD = "webhookTimestamp"
_TIMESTAMP_HEADER = "Linear-Timestamp"


@register
class LinearVerifier(HmacVerifier):
    """Linear webhooks; the delivery time must be within a minute of ours, as Linear's SDK checks."""

    name = "linear"
    options = frozenset()
    default_tolerance = 60
    default_delivery_id = "header:Linear-Delivery"
    default_event_type = "header:Linear-Event"

    def _configure(self, options: Mapping[str, Any]) -> None:
        super()._configure({"header": "Linear-Signature"})

    def verify(self, delivery: Delivery) -> None:
        super().verify(delivery)
        if self.tolerance is not None:
            self._check_time(self._sent_at(delivery))

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        headers = super().sign(body, delivery_id=delivery_id, event_type=event_type)
        return {**headers, _TIMESTAMP_HEADER: str(self._now(timestamp) * 1000)}

    @staticmethod
    def _sent_at(delivery: Delivery) -> int:
        """Unix seconds from the signed ``webhookTimestamp``, else from the unsigned ``Linear-Timestamp``."""
        body = delivery.json()
        millis: Any = body.get(_TIMESTAMP_FIELD) if isinstance(body, dict) else None
        if millis is None:
            header = delivery.header(_TIMESTAMP_HEADER)
            if header is None:
                raise MissingHeader(f"missing {_TIMESTAMP_HEADER} header and {_TIMESTAMP_FIELD} field")
            return parse_timestamp(header, _TIMESTAMP_HEADER) // 1000
        if not isinstance(millis, int) or isinstance(millis, bool) or not 0 <= millis < 10**15:
            raise MalformedHeader(f"{_TIMESTAMP_FIELD} must be a Unix time in milliseconds")
        return millis // 1000
