"""Netlify deploy notifications: ``X-Webhook-Signature``, a JWS (HS256, the notification's JWS secret
token) whose payload carries ``iss: "netlify"`` and ``sha256``, the hex SHA-256 of the body.

https://docs.netlify.com/site-deploys/deploy-notifications/#payload-signature. Checked here with hmac and
a constant-time compare (PyJWT is not a dependency of hookgate): ``alg`` must be HS256 (never ``none``),
the signature must match a secret, ``iss`` must be netlify, the body's hash must match, and an ``exp`` or
``nbf`` claim, which Netlify does not send today, is honoured.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch, TimestampOutOfTolerance
from signatures.hmac import digest, matches_any
from signatures.registry import register

__all__ = ["NetlifyVerifier"]

_SIGNATURE = "X-Webhook-Signature"
_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_HEADER = {"alg": "HS256", "typ": "JWT"}


@register
class NetlifyVerifier(Verifier):
    """Netlify outgoing webhooks; ``secrets`` are JWS secret tokens. Every notification of one deploy
    carries the same deploy ``id``, so dedupe is on the body hash and the event type is the ``state``."""

    name = "netlify"
    signature_headers = frozenset({_SIGNATURE.lower()})
    default_event_type = "json:state"

    def verify(self, delivery: Delivery) -> None:
        found = _JWS.fullmatch(self._header(delivery, _SIGNATURE).strip())
        if found is None:
            raise MalformedHeader(f"{_SIGNATURE} must be a compact JWS")
        header, claims = _segment(found.group(1)), _segment(found.group(2))
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
            raise MalformedHeader(f"{_SIGNATURE} must be an HS256 JWS with a JSON payload")
        signature = _unpad(found.group(3))
        signing_input = f"{found.group(1)}.{found.group(2)}".encode("ascii")
        if not matches_any((digest("sha256", key, signing_input) for key in self._keys), [signature]):
            raise SignatureMismatch(f"{_SIGNATURE} is not signed with a configured secret")
        if claims.get("iss") != "netlify":
            raise SignatureMismatch(f"{_SIGNATURE} was not issued by netlify")
        body_hash = claims.get("sha256")
        if not isinstance(body_hash, str) or not hmac.compare_digest(
            body_hash.lower().encode(), hashlib.sha256(delivery.body).hexdigest().encode()
        ):
            raise SignatureMismatch(f"the body does not match the sha256 signed in {_SIGNATURE}")
        self._check_validity(claims)

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        claims = {"iss": "netlify", "sha256": hashlib.sha256(body).hexdigest()}
        signing_input = _encode(_HEADER) + "." + _encode(claims)
        signature = _pad_free(digest("sha256", self._keys[0], signing_input.encode("ascii")))
        return {**self._locator_headers(delivery_id, event_type), _SIGNATURE: f"{signing_input}.{signature}"}

    def _check_validity(self, claims: dict[str, Any]) -> None:
        now = self.clock()
        leeway = self.tolerance or 0
        expires, starts = _number(claims.get("exp")), _number(claims.get("nbf"))
        if expires is not None and now > expires + leeway:
            raise TimestampOutOfTolerance(f"{_SIGNATURE} expired")
        if starts is not None and now < starts - leeway:
            raise TimestampOutOfTolerance(f"{_SIGNATURE} is not valid yet")


def _number(value: object) -> int | float | None:
    """A numeric claim's value; None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _unpad(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedHeader(f"{_SIGNATURE} holds a segment that is not base64url") from None


def _segment(segment: str) -> Any:
    try:
        return json.loads(_unpad(segment))
    except (ValueError, RecursionError):
        raise MalformedHeader(f"{_SIGNATURE} holds a segment that is not JSON") from None


def _encode(document: dict[str, str]) -> str:
    return _pad_free(json.dumps(document, separators=(",", ":")).encode())


def _pad_free(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
