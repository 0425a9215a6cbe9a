"""The shared HMAC core every symmetric provider is built on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable

from signatures.errors import ConfigurationError, MalformedHeader, TimestampOutOfTolerance

__all__ = ["ALGORITHMS", "ENCODINGS", "check_timestamp", "digest", "encode", "matches_any", "parse_timestamp"]

ALGORITHMS = frozenset({"sha1", "sha256", "sha384", "sha512"})
ENCODINGS = frozenset({"hex", "base64"})
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


def digest(algorithm: str, key: bytes, message: bytes) -> bytes:
    """HMAC of ``message`` under ``key`` with one of ALGORITHMS."""
    if algorithm not in ALGORITHMS:
        raise ConfigurationError(f"unsupported algorithm {algorithm!r}; use one of {sorted(ALGORITHMS)}")
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def encode(raw: bytes, encoding: str) -> str:
    """Render a digest as "hex" (lower case) or "base64"."""
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64":
        return base64.b64encode(raw).decode("ascii")
    raise ConfigurationError(f"unsupported encoding {encoding!r}; use one of {sorted(ENCODINGS)}")


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


def matches_any(candidates: Iterable[bytes | str], given: Iterable[bytes | str]) -> bool:
    """Whether any given signature equals any candidate, compared in constant time."""
    expected = [_as_bytes(c) for c in candidates]
    found = False
    for signature in given:
        raw = _as_bytes(signature)
        for candidate in expected:
            found |= hmac.compare_digest(candidate, raw)
    return found


def parse_timestamp(value: str, header: str) -> int:
    """A Unix timestamp in whole seconds from a header value; MalformedHeader otherwise."""
    value = value.strip()
    if not _TIMESTAMP.fullmatch(value):
        raise MalformedHeader(f"{header} does not hold a Unix timestamp")
    return int(value)


def check_timestamp(timestamp: int, *, now: float, tolerance: int) -> None:
    """Refuse a timestamp more than ``tolerance`` seconds before or after ``now``."""
    skew = now - timestamp
    if skew > tolerance:
        raise TimestampOutOfTolerance(
            f"timestamp is {int(skew)} s old, beyond the tolerance of {tolerance} s"
        )
    if -skew > tolerance:
        raise TimestampOutOfTolerance(
            f"timestamp is {int(-skew)} s in the future, beyond the tolerance of {tolerance} s"
        )
