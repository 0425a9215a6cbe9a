"""Mailgun: the JSON body's ``signature`` object, HMAC-SHA256 hex of ``timestamp + token``.

Mailgun signs only the timestamp and token, not the event data; the tolerance bounds replays and the
gateway's dedupe on ``event-data.id`` drops repeats.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, MissingHeader, SignatureMismatch, SigningNotSupported
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["MailgunVerifier"]

_HEX = re.compile(r"[0-9a-fA-F]+")


def _text(value: Any) -> str | None:
    """A JSON string, or an integer written as Mailgun would; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


@register
class MailgunVerifier(Verifier):
    """Mailgun webhooks (JSON); ``secrets`` hold the HTTP webhook signing key(s).

    A subaccount's events also carry ``parent-signature``, made with the primary account's key;
    either may match.
    """

    name = "mailgun"
    # Mailgun publishes no window; 15 minutes as the official Python SDK's verify_webhook uses.
    default_tolerance = 900
    default_delivery_id = "json:event-data.id"
    default_event_type = "json:event-data.event"

    def verify(self, delivery: Delivery) -> None:
        body = delivery.json()
        block = body.get("signature") if isinstance(body, dict) else None
        if not isinstance(block, dict):
            raise MissingHeader("missing signature object in the JSON body")
        timestamp_text, token = _text(block.get("timestamp")), block.get("token")
        if timestamp_text is None or not isinstance(token, str) or not token:
            raise MalformedHeader("the body's signature object needs a timestamp and a token")
        timestamp = parse_timestamp(timestamp_text, "signature.timestamp")
        given = [
            value.lower()
            for value in (block.get("signature"), block.get("parent-signature"))
            if isinstance(value, str) and _HEX.fullmatch(value)
        ]
        if not given:
            raise MalformedHeader("the body's signature object holds no hex signature")
        expected = (self._signature(key, timestamp_text, token) for key in self._keys)
        if not matches_any(expected, given):
            raise SignatureMismatch("the body's signature does not match its timestamp and token")
        self._check_time(timestamp)

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        raise SigningNotSupported("mailgun puts its signature in the body, not in headers: use sign_body()")

    def sign_body(
        self, event_data: Mapping[str, Any], *, timestamp: int | None = None, token: str | None = None
    ) -> bytes:
        """A JSON body as Mailgun would send ``event_data``, signed with the first secret."""
        t = str(self._now(timestamp))
        token = token or secrets.token_hex(25)
        block = {"timestamp": t, "token": token, "signature": self._signature(self._keys[0], t, token)}
        return json.dumps({"signature": block, "event-data": dict(event_data)}).encode()

    @staticmethod
    def _signature(key: bytes, timestamp: str, token: str) -> str:
        return encode(digest("sha256", key, (timestamp + token).encode("utf-8", "surrogatepass")), "hex")
