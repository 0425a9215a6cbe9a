"""Failures grouped into issues: one per (consumer, error type, normalised message).

Numbers, ids, hex digests and quoted values vary between failures of one cause ("answered 503" after
"answered 500", another event's id in the message), so they are masked before grouping.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

#: Masked, in this order: UUIDs, long hex or base64-ish tokens, quoted values, then numbers.
_MASKS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b(?:evt|dlq|iss)_[0-9a-z]+\b", re.I), "<id>"),
    (re.compile(r"\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"'[^']{0,200}'|\"[^\"]{0,200}\""), "<value>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)
MAX_MESSAGE_CHARS = 300


def normalise(message: str) -> str:
    """The message with what varies between failures of one cause masked."""
    for pattern, mask in _MASKS:
        message = pattern.sub(mask, message)
    return message[:MAX_MESSAGE_CHARS]


def issue_id(consumer: str, error_type: str, message: str) -> str:
    digest = hashlib.sha256(f"{consumer}\0{error_type}\0{normalise(message)}".encode()).hexdigest()
    return "iss_" + digest[:20]


def issue_fields(event_id: str, consumer: str, error_type: str, error: str) -> dict[str, Any]:
    """What a failed attempt tells its issue (``store/lua/record.lua``'s ``note_failure``)."""
    return {
        "id": issue_id(consumer, error_type, error),
        "consumer": consumer,
        "type": error_type,
        "message": normalise(error),
        "error": error[:2000],
        "event": event_id,
    }
