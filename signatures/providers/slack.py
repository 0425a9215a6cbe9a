"""Slack: ``X-Slack-Signature: v0=<hex>``, HMAC-SHA256 over ``"v0:{X-Slack-Request-Timestamp}:" + body``."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from signatures.base import Handshake, Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["SlackVerifier"]

_SIGNATURE = "X-Slack-Signature"
_TIMESTAMP = "X-Slack-Request-Timestamp"
_V0 = re.compile(r"v0=([0-9a-fA-F]{64})")


@register
class SlackVerifier(Verifier):
    """Slack's Events API, interactivity and slash commands, signed with the app's signing secret.

    Slack sends no delivery-id header (a retry only adds ``X-Slack-Retry-Num``), so the Events
    API ``event_id`` serves; slash commands and interactivity fall back to the body hash.
    """

    name = "slack"
    default_tolerance = 300
    signature_headers = frozenset({_SIGNATURE.lower(), _TIMESTAMP.lower()})
    default_delivery_id = "json:event_id"
    default_event_type = "json:type"

    def verify(self, delivery: Delivery) -> None:
        raw_timestamp = self._header(delivery, _TIMESTAMP).strip()
        timestamp = parse_timestamp(raw_timestamp, _TIMESTAMP)
        found = _V0.fullmatch(self._header(delivery, _SIGNATURE).strip())
        if found is None:
            raise MalformedHeader(f"{_SIGNATURE} must look like v0=<hex>")
        expected = (self._signature(key, raw_timestamp, delivery.body) for key in self._keys)
        if not matches_any(expected, [found.group(1).lower()]):
            raise SignatureMismatch(f"{_SIGNATURE} does not match the body and timestamp")
        self._check_time(timestamp)

    def event_type(self, delivery: Delivery) -> str | None:
        """The inner ``event.type`` of an ``event_callback``, else the payload's ``type``."""
        if str(self._event_type) != self.default_event_type:
            return super().event_type(delivery)
        payload = delivery.json()
        if payload is None:
            payload = _interactive_payload(delivery.body)
        if not isinstance(payload, dict):
            return None
        kind = payload.get("type")
        inner = payload.get("event")
        if kind == "event_callback" and isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return str(inner["type"])
        return kind if isinstance(kind, str) else None

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """Echo the challenge of a ``url_verification`` request, as Slack's Events API requires."""
        payload = delivery.json()
        if not isinstance(payload, dict) or payload.get("type") != "url_verification":
            return None
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            return None
        return Handshake(200, json.dumps({"challenge": challenge}).encode(), "application/json")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        t = str(self._now(timestamp))
        return {
            **self._locator_headers(delivery_id, event_type),
            _TIMESTAMP: t,
            _SIGNATURE: "v0=" + self._signature(self._keys[0], t, body),
        }

    @staticmethod
    def _signature(key: bytes, timestamp: str, body: bytes) -> str:
        return encode(digest("sha256", key, f"v0:{timestamp}:".encode() + body), "hex")


def _interactive_payload(body: bytes) -> Any | None:
    """The JSON ``payload`` form field that interactivity requests carry, None otherwise."""
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=1000)
        return json.loads(fields["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, RecursionError):
        return None
