"""Sample deliveries for ``hookgate send-test``."""

from __future__ import annotations

import json
import time

_DEFAULT_EVENT = {"github": "push", "stripe": "payment_intent.succeeded"}


def sample_delivery(provider: str, event_type: str | None, delivery_id: str) -> tuple[bytes, str]:
    """A small JSON body that carries the id and type where providers keep them in the body."""
    event_type = event_type or _DEFAULT_EVENT.get(provider, "hookgate.test")
    body = {
        "id": delivery_id,
        "type": event_type,
        "object": "event",
        "created": int(time.time()),
        "ref": "refs/heads/main",
        "repository": {"full_name": "hookgate/send-test"},
        "data": {"message": "a test delivery from hookgate send-test"},
    }
    return json.dumps(body).encode(), event_type
