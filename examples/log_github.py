"""The example consumer that ``make run`` loads (``deploy/hookgate.example.toml``): it logs each GitHub
event. Write yours the same way, in your own module, and list it under ``[consumers] modules``."""

from __future__ import annotations

import structlog

from consumers.event import Event
from consumers.registry import consumer

log = structlog.get_logger("hookgate.example")


@consumer("github", name="example.log-github")
def log_github_event(event: Event) -> None:
    """Logs what arrived: a stand-in for real work such as starting a CI build."""
    payload = event.json() if event.header("content-type") == "application/json" else None
    repository = payload.get("repository", {}).get("full_name") if isinstance(payload, dict) else None
    log.info(
        "example consumer handled the event",
        event_id=event.id,
        source=event.source,
        event_type=event.event_type,
        repository=repository,
        idempotency_key=event.idempotency_key,
        size=len(event.body),
    )
