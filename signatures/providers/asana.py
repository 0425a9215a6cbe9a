"""Asana: ``X-Hook-Signature``, hex HMAC-SHA256 of the body with the webhook's secret, which Asana sends
once, as ``X-Hook-Secret``, in the handshake that establishes the webhook.

https://developers.asana.com/docs/webhooks-guide and https://developers.asana.com/reference/createwebhook:
the handshake is answered ``200`` echoing ``X-Hook-Secret``, and the same secret comes back in the
response to the API call that created the webhook ("X-Hook-Secret" in the JSON). hookgate never keeps it:
the operator copies it from that response into the source's secret. Until then the source needs some
random placeholder secret, and handshakes are answered whatever they carry, since nothing can vouch
for them. The header is stored as ``[redacted]``, never logged or forwarded, and a handshake is accepted
only with no events in its body, so an unsigned request can never carry an event in.
"""

from __future__ import annotations

import json
import re

from signatures.base import Handshake, Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["AsanaVerifier"]

_SECRET = "X-Hook-Secret"
_SIGNATURE = "X-Hook-Signature"
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{1,512}")


@register
class AsanaVerifier(Verifier):
    """Asana webhooks; ``secrets`` are the ``X-Hook-Secret`` values of the webhooks posting here.
    Deliveries batch events, so there is no default event type or delivery id."""

    name = "asana"
    signature_headers = frozenset({_SIGNATURE.lower()})
    credential_headers = frozenset({_SECRET.lower()})

    def verify(self, delivery: Delivery) -> None:
        if _is_handshake(delivery):
            if not _TOKEN.fullmatch(delivery.header(_SECRET) or ""):
                raise MalformedHeader(f"{_SECRET} must be a token")
            if not _carries_no_events(delivery.body):
                raise SignatureMismatch("a handshake carries no events, and this unsigned one has a body")
            return
        given = self._header(delivery, _SIGNATURE).strip()
        if not _HEX.fullmatch(given):
            raise MalformedHeader(f"{_SIGNATURE} must hold a hex HMAC-SHA256")
        expected = (encode(digest("sha256", key, delivery.body), "hex") for key in self._keys)
        if not matches_any(expected, [given.lower()]):
            raise SignatureMismatch(f"{_SIGNATURE} does not match the body")

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """Echo ``X-Hook-Secret`` in a ``200``, as the handshake that establishes a webhook requires."""
        if not _is_handshake(delivery):
            return None
        secret = delivery.header(_SECRET) or ""
        return Handshake(200, b"", "text/plain", headers={_SECRET: secret}, store=False)

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        signature = encode(digest("sha256", self._keys[0], body), "hex")
        return {**self._locator_headers(delivery_id, event_type), _SIGNATURE: signature}


def _is_handshake(delivery: Delivery) -> bool:
    return delivery.header(_SECRET) is not None and delivery.header(_SIGNATURE) is None


def _carries_no_events(body: bytes) -> bool:
    """An empty body, or a JSON object whose ``events`` (if any) is an empty list."""
    if not body.strip():
        return True
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and set(document) <= {"events"} and not document.get("events")
