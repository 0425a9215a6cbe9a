"""How operators see what senders sent: payloads are attacker-controlled, so every view shows them."""

from __future__ import annotations

import json


def pretty_body(text: str | None, limit: int | None = None) -> tuple[str | None, bool]:
    """The body pretty-printed when it is JSON that can be shown as text, else as received (None for a
    body that is not UTF-8); and whether it was pretty-printed. Deep nesting, a lone surrogate escape or
    anything else JSON cannot redisplay falls back to the text itself."""
    if text is None:
        return None, False
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        pretty.encode("utf-8")
    except (ValueError, RecursionError, UnicodeEncodeError):
        return text[:limit], False
    return pretty[:limit], True
