"""Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64>``."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import ClassVar, NamedTuple

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["HeaderNames", "StandardWebhooksVerifier"]


class HeaderNames(NamedTuple):
    """The three headers one flavour of the scheme uses."""

    id: str
    timestamp: str
    signature: str


@register
class StandardWebhooksVerifier(Verifier):
    """The Standard Webhooks scheme; secrets are ``whsec_<base64>`` or bare base64."""

    name = "standard-webhooks"
    header_names: ClassVar[tuple[HeaderNames, ...]] = (
        HeaderNames("webhook-id", "webhook-timestamp", "webhook-signature"),
    )
    default_tolerance = 300
    signature_headers = frozenset({"webhook-signature"})
    default_delivery_id = "header:webhook-id"
    default_event_type = "json:type"

    def _key(self, index: int, secret: str) -> bytes:
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not key:
            raise ConfigurationError(f"{self.name}: secret #{index + 1} is not whsec_<base64>")
        return key

    def _names(self, delivery: Delivery) -> HeaderNames:
        """The first flavour whose headers appear in the delivery, else the first flavour."""
        for names in self.header_names:
            if any(delivery.header(name) is not None for name in names):
                return names
        return self.header_names[0]

    def verify(self, delivery: Delivery) -> None:
        names = self._names(delivery)
        message_id = self._header(delivery, names.id)
        timestamp = parse_timestamp(self._header(delivery, names.timestamp), names.timestamp)
        given = []
        for token in self._header(delivery, names.signature).split():
            version, _, signature = token.partition(",")
            if version == "v1":
                given.append(signature)
        if not given:
            raise MalformedHeader(f"{names.signature} holds no v1,<signature> entry")
        expected = (self._signature(key, message_id, timestamp, delivery.body) for key in self._keys)
        if not matches_any(expected, given):
            raise SignatureMismatch(f"no v1 signature in {names.signature} matches the body")
        self._check_time(timestamp)

    def delivery_id(self, delivery: Delivery) -> str | None:
        return super().delivery_id(delivery) or delivery.header(self._names(delivery).id)

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        names = self.header_names[0]
        message_id = delivery_id or f"msg_{uuid.uuid4().hex}"
        t = self._now(timestamp)
        return {
            **self._locator_headers(message_id, event_type),
            names.id: message_id,
            names.timestamp: str(t),
            names.signature: "v1," + self._signature(self._keys[0], message_id, t, body),
        }

    @staticmethod
    def _signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
        signed = f"{message_id}.{timestamp}.".encode("utf-8", "surrogatepass") + body
        return encode(digest("sha256", key, signed), "base64")
