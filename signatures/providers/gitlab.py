"""GitLab: the ``X-Gitlab-Token`` secret token, or the signing token's Standard Webhooks signature.

A signing token (``whsec_<base64>``, added in 2026 behind GitLab's ``webhook_signing_token``
feature flag) makes GitLab send ``webhook-id`` (its ``Idempotency-Key``), ``webhook-timestamp`` and
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from typing import Any

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["GitLabVerifier"]

_TOKEN = "X-Gitlab-Token"
_ID = "webhook-id"
_TIMESTAMP = "webhook-timestamp"
_SIGNATURE = "webhook-signature"
_SCHEMES = frozenset({"auto", "token", "signing"})
_SIGNING_PREFIX = "whsec_"


@register
class GitLabVerifier(Verifier):
    """GitLab webhooks; ``whsec_`` secrets are signing tokens, any other secret is a secret token.

    With ``scheme = "auto"`` (the default) a signed delivery is checked against the signing
    tokens and any other against the secret tokens. ``scheme = "signing"`` refuses deliveries
    that carry only ``X-Gitlab-Token``, which a replay could otherwise present.
    """

    name = "gitlab"
    default_tolerance = 300
    options = frozenset({"scheme"})
    signature_headers = frozenset({_TOKEN.lower(), _SIGNATURE})
    credential_headers = frozenset({_TOKEN.lower()})
    default_delivery_id = "header:Idempotency-Key"
    default_event_type = "header:X-Gitlab-Event"

    def _configure(self, options: Mapping[str, Any]) -> None:
        scheme = options.get("scheme", "auto")
        if scheme not in _SCHEMES:
            raise ConfigurationError(
                f"gitlab: option 'scheme' must be one of {sorted(_SCHEMES)}, got {scheme!r}"
            )
        self.scheme: str = scheme
        self._tokens: tuple[bytes, ...] = ()
        self._signing_keys: tuple[bytes, ...] = ()
        if scheme == "token":
            self._tokens = tuple(secret.encode("utf-8") for secret in self.secrets)
            return
        for index, secret in enumerate(self.secrets):
            if scheme == "signing" or secret.startswith(_SIGNING_PREFIX):
                self._signing_keys += (self._signing_key(index, secret),)
            else:
                self._tokens += (secret.encode("utf-8"),)

    def verify(self, delivery: Delivery) -> None:
        signed = delivery.header(_SIGNATURE) is not None
        if self._signing_keys and (signed or not self._tokens):
            self._verify_signature(delivery)
            return
        token = self._header(delivery, _TOKEN)
        if not matches_any(self._tokens, [token]):
            raise SignatureMismatch(f"{_TOKEN} does not match any configured secret token")

    def _verify_signature(self, delivery: Delivery) -> None:
        message_id = self._header(delivery, _ID)
        timestamp = parse_timestamp(self._header(delivery, _TIMESTAMP), _TIMESTAMP)
        given = []
        for token in self._header(delivery, _SIGNATURE).split():
            version, _, signature = token.partition(",")
            if version == "v1":
                given.append(signature)
        if not given:
            raise MalformedHeader(f"{_SIGNATURE} holds no v1,<signature> entry")
        expected = (self._signature(key, message_id, timestamp, delivery.body) for key in self._signing_keys)
        if not matches_any(expected, given):
            raise SignatureMismatch(f"no v1 signature in {_SIGNATURE} matches the body")
        self._check_time(timestamp)

    def delivery_id(self, delivery: Delivery) -> str | None:
        # GitLab sends webhook-id only with a signing token; it equals Idempotency-Key.
        return super().delivery_id(delivery) or delivery.header(_ID)

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        """Headers as GitLab sends them for the first secret: a signature, or the secret token."""
        message_id = delivery_id or str(uuid.uuid4())
        headers = {**self._locator_headers(message_id, event_type), "Idempotency-Key": message_id}
        signing = self.scheme == "signing" or (
            self.scheme == "auto" and self.secrets[0].startswith(_SIGNING_PREFIX)
        )
        if not signing:
            return {**headers, _TOKEN: self.secrets[0]}
        t = self._now(timestamp)
        signature = self._signature(self._signing_keys[0], message_id, t, body)
        return {**headers, _ID: message_id, _TIMESTAMP: str(t), _SIGNATURE: f"v1,{signature}"}

    def _signing_key(self, index: int, secret: str) -> bytes:
        try:
            key = base64.b64decode(secret.removeprefix(_SIGNING_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not key:
            raise ConfigurationError(f"gitlab: signing token #{index + 1} is not whsec_<base64>")
        return key

    @staticmethod
    def _signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
        signed = f"{message_id}.{timestamp}.".encode("utf-8", "surrogatepass") + body
        return encode(digest("sha256", key, signed), "base64")
