"""Twitch EventSub: ``Twitch-Eventsub-Message-Signature: sha256=<hex>`` over message id + timestamp + body."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from signatures.base import Handshake, Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["TwitchVerifier"]

_ID = "Twitch-Eventsub-Message-Id"
_TIMESTAMP = "Twitch-Eventsub-Message-Timestamp"
_SIGNATURE = "Twitch-Eventsub-Message-Signature"
_MESSAGE_TYPE = "Twitch-Eventsub-Message-Type"
_HEX = re.compile(r"[0-9a-fA-F]+")
# RFC 3339 in UTC as Twitch sends it, with up to nanosecond precision: 2019-11-16T10:11:12.634234626Z
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", re.ASCII)


def _unix_seconds(value: str) -> int:
    """Whole Unix seconds of an RFC 3339 timestamp; MalformedHeader otherwise."""
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise MalformedHeader(f"{_TIMESTAMP} does not hold an RFC 3339 timestamp")
    seconds, _, zone = match.groups()
    try:
        moment = datetime.fromisoformat(seconds + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        raise MalformedHeader(f"{_TIMESTAMP} does not hold an RFC 3339 timestamp") from None
    return int(moment.timestamp())


@register
class TwitchVerifier(Verifier):
    """Twitch EventSub webhooks; answers the callback-verification challenge, revocations are events."""

    name = "twitch"
    # Twitch's docs: reject messages whose timestamp is more than 10 minutes old.
    default_tolerance = 600
    signature_headers = frozenset({_SIGNATURE.lower()})
    default_delivery_id = f"header:{_ID}"
    default_event_type = "header:Twitch-Eventsub-Subscription-Type"

    def verify(self, delivery: Delivery) -> None:
        message_id = self._header(delivery, _ID)
        timestamp_text = self._header(delivery, _TIMESTAMP)
        scheme, _, signature = self._header(delivery, _SIGNATURE).strip().partition("=")
        if scheme != "sha256" or not _HEX.fullmatch(signature):
            raise MalformedHeader(f"{_SIGNATURE} must look like sha256=<hex>")
        timestamp = _unix_seconds(timestamp_text)
        expected = (self._signature(key, message_id, timestamp_text, delivery.body) for key in self._keys)
        if not matches_any(expected, [signature.lower()]):
            raise SignatureMismatch(f"{_SIGNATURE} does not match the message id, timestamp and body")
        self._check_time(timestamp)

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """The challenge, echoed as plain text, for a ``webhook_callback_verification`` message."""
        if delivery.header(_MESSAGE_TYPE) != "webhook_callback_verification":
            return None
        body = delivery.json()
        challenge = body.get("challenge") if isinstance(body, dict) else None
        if not isinstance(challenge, str):
            return None
        return Handshake(200, challenge.encode("utf-8"), "text/plain")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        message_id = delivery_id or str(uuid.uuid4())
        sent_at = datetime.fromtimestamp(self._now(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {
            **self._locator_headers(message_id, event_type),
            _ID: message_id,
            _TIMESTAMP: sent_at,
            _MESSAGE_TYPE: "notification",
            _SIGNATURE: "sha256=" + self._signature(self._keys[0], message_id, sent_at, body),
        }

    @staticmethod
    def _signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
        signed = (message_id + timestamp).encode("utf-8", "surrogatepass") + body
        return encode(digest("sha256", key, signed), "hex")
