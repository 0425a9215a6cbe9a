"""Generic HMAC: a configured header holding ``<prefix><digest>`` of the raw body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MalformedHeader, SignatureMismatch
from signatures.hmac import ALGORITHMS, ENCODINGS, digest, encode, matches_any
from signatures.registry import register

__all__ = ["HmacVerifier"]

_HEX = re.compile(r"[0-9a-fA-F]+")


@register
class HmacVerifier(Verifier):
    """Any sender that puts an HMAC of the body in one header; options say which and how."""

    name = "hmac"
    options = frozenset({"header", "algorithm", "encoding", "prefix"})

    def _configure(self, options: Mapping[str, Any]) -> None:
        header = options.get("header")
        if not isinstance(header, str) or not header.strip() or any(c.isspace() for c in header.strip()):
            raise ConfigurationError(
                f"hmac: option 'header' is required and must be a header name, got {header!r}"
            )
        algorithm = options.get("algorithm", "sha256")
        if algorithm not in ALGORITHMS:
            raise ConfigurationError(
                f"hmac: option 'algorithm' must be one of {sorted(ALGORITHMS)}, got {algorithm!r}"
            )
        encoding = options.get("encoding", "hex")
        if encoding not in ENCODINGS:
            raise ConfigurationError(
                f"hmac: option 'encoding' must be one of {sorted(ENCODINGS)}, got {encoding!r}"
            )
        prefix = options.get("prefix", "")
        if not isinstance(prefix, str):
            raise ConfigurationError(f"hmac: option 'prefix' must be a string, got {prefix!r}")
        self.header: str = header.strip()
        self.algorithm: str = algorithm
        self.encoding: str = encoding
        self.prefix: str = prefix
        self.signature_headers = frozenset({self.header.lower()})

    def verify(self, delivery: Delivery) -> None:
        value = self._header(delivery, self.header).strip()
        if not value.startswith(self.prefix) or not value[len(self.prefix) :]:
            raise MalformedHeader(f"{self.header} must look like {self.prefix}<{self.encoding} digest>")
        signature = value[len(self.prefix) :]
        if self.encoding == "hex":
            if not _HEX.fullmatch(signature):
                raise MalformedHeader(f"{self.header} must hold a hex digest")
            signature = signature.lower()
        expected = (encode(digest(self.algorithm, key, delivery.body), self.encoding) for key in self._keys)
        if not matches_any(expected, [signature]):
            raise SignatureMismatch(f"{self.header} does not match the body")

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        signature = encode(digest(self.algorithm, self._keys[0], body), self.encoding)
        return {**self._locator_headers(delivery_id, event_type), self.header: self.prefix + signature}
