"""Time arguments: RFC 3339 (no zone means UTC) or relative (``30s``, ``15m``, ``2h``, ``7d``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, *, now: float | None = None) -> float:
    """Unix seconds for ``text``; ValueError naming the value when it is neither form."""
    relative = _RELATIVE.match(text)
    if relative:
        return (time.time() if now is None else now) - float(relative.group(1)) * _UNITS[relative.group(2)]
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use RFC 3339 (2026-11-26T03:00) or 30s/15m/2h/7d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def rfc3339(seconds: float) -> str:
    """A Unix time as RFC 3339 in UTC, to the millisecond."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
