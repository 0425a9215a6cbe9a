"""HubSpot: ``X-HubSpot-Signature-v3``, base64 HMAC-SHA256 over method, URL, body and millisecond timestamp.

The legacy ``X-HubSpot-Signature`` (v1: SHA-256 of secret + body; v2: of secret + method + URL +
body, named by ``X-HubSpot-Signature-Version``) is checked only when no v3 signature is present,
and not at all with the option ``legacy = false``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any, parse_timestamp
from signatures.registry import register

__all__ = ["HubSpotVerifier"]

_V3 = "X-HubSpot-Signature-v3"
_TIMESTAMP = "X-HubSpot-Request-Timestamp"
_LEGACY = "X-HubSpot-Signature"
_VERSION = "X-HubSpot-Signature-Version"
_HEX = re.compile(r"[0-9a-fA-F]{64}")
# The escapes HubSpot's v3 guide says to decode in the URI before signing; no others.
_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip
_ESCAPE = re.compile("|".join(_DECODED), re.IGNORECASE)


def _decode_uri(url: str) -> str:
    return _ESCAPE.sub(lambda match: _DECODED[match.group(0).upper()], url)


@register
class HubSpotVerifier(Verifier):
    """HubSpot webhooks, workflow actions and CRM cards, signed with the app's client secret.

    HubSpot batches events in a JSON array and documents no unique delivery id (``eventId`` is
    not guaranteed unique and ``attemptNumber`` changes on each retry), so there is no default.
    """

    name = "hubspot"
    default_tolerance = 300
    options = frozenset({"legacy"})
    signs_url = True
    signature_headers = frozenset({_V3.lower(), _TIMESTAMP.lower(), _LEGACY.lower()})
    default_event_type = "json:0.subscriptionType"

    def _configure(self, options: Mapping[str, Any]) -> None:
        legacy = options.get("legacy", True)
        if not isinstance(legacy, bool):
            raise ConfigurationError(f"hubspot: option 'legacy' must be true or false, got {legacy!r}")
        self.legacy: bool = legacy

    def verify(self, delivery: Delivery) -> None:
        if delivery.header(_V3) is None and self.legacy and delivery.header(_LEGACY) is not None:
            self._verify_legacy(delivery)
            return
        given = self._header(delivery, _V3).strip()
        raw_timestamp = self._header(delivery, _TIMESTAMP).strip()
        milliseconds = parse_timestamp(raw_timestamp, _TIMESTAMP)
        if not given:
            raise MalformedHeader(f"{_V3} must hold a base64 digest")
        expected = (
            self._v3(key, delivery.method, delivery.url, delivery.body, raw_timestamp) for key in self._keys
        )
        if not matches_any(expected, [given]):
            raise SignatureMismatch(f"{_V3} does not match the method, URL, body and timestamp")
        self._check_time(milliseconds // 1000)

    def _verify_legacy(self, delivery: Delivery) -> None:
        version = self._header(delivery, _VERSION).strip().lower()
        if version not in ("v1", "v2"):
            raise MalformedHeader(f"{_VERSION} must be v1 or v2 when {_V3} is absent")
        given = self._header(delivery, _LEGACY).strip()
        if not _HEX.fullmatch(given):
            raise MalformedHeader(f"{_LEGACY} must hold a hex SHA-256 digest")
        request = b""
        if version == "v2":
            request = f"{delivery.method}{delivery.url}".encode("utf-8", "surrogatepass")
        expected = (hashlib.sha256(key + request + delivery.body).hexdigest() for key in self._keys)
        if not matches_any(expected, [given.lower()]):
            raise SignatureMismatch(f"{_LEGACY} ({version}) does not match the request")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
        url: str = "",
        method: str = "POST",
    ) -> dict[str, str]:
        """Sign a v3 request of ``method`` to ``url``; ``timestamp`` is in seconds, as elsewhere."""
        milliseconds = str(self._now(timestamp) * 1000)
        return {
            **self._locator_headers(delivery_id, event_type),
            _TIMESTAMP: milliseconds,
            _V3: self._v3(self._keys[0], method, url, body, milliseconds),
        }

    @staticmethod
    def _v3(key: bytes, method: str, url: str, body: bytes, timestamp: str) -> str:
        request = f"{method}{_decode_uri(url)}".encode("utf-8", "surrogatepass")
        return encode(digest("sha256", key, request + body + timestamp.encode()), "base64")
