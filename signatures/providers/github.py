"""GitHub: ``X-Hub-Signature-256: sha256=<hex>``, HMAC-SHA256 over the raw body."""

from __future__ import annotations

import re

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["GitHubVerifier"]

_HEX = re.compile(r"[0-9a-fA-F]+")


@register
class GitHubVerifier(Verifier):
    """GitHub webhooks; the legacy SHA-1 header counts only when the SHA-256 one is absent."""

    name = "github"
    signature_headers = frozenset({"x-hub-signature-256", "x-hub-signature"})
    default_delivery_id = "header:X-GitHub-Delivery"
    default_event_type = "header:X-GitHub-Event"

    def verify(self, delivery: Delivery) -> None:
        header, algorithm = "X-Hub-Signature-256", "sha256"
        if delivery.header(header) is None and delivery.header("X-Hub-Signature") is not None:
            header, algorithm = "X-Hub-Signature", "sha1"
        scheme, _, signature = self._header(delivery, header).strip().partition("=")
        if scheme != algorithm or not _HEX.fullmatch(signature):
            raise MalformedHeader(f"{header} must look like {algorithm}=<hex>")
        expected = (encode(digest(algorithm, key, delivery.body), "hex") for key in self._keys)
        if not matches_any(expected, [signature.lower()]):
            raise SignatureMismatch(f"{header} does not match the body")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        key = self._keys[0]
        return {
            **self._locator_headers(delivery_id, event_type),
            "X-Hub-Signature-256": "sha256=" + encode(digest("sha256", key, body), "hex"),
            "X-Hub-Signature": "sha1=" + encode(digest("sha1", key, body), "hex"),
        }
