"""The Dramatiq actors. They are declared on an explicit broker by ``declare_actors`` (never on import),
so they can never bind to Dramatiq's fallback broker on a default local port."""

from __future__ import annotations

from typing import Protocol

import dramatiq
import structlog

from consumers.event import Event
from consumers.registry import Registry

log = structlog.get_logger("hookgate.worker")

DISPATCH = "dispatch"


class EventSource(Protocol):
    """The narrow view of the event store that the worker needs."""

    def load(self, event_id: str) -> Event | None: ...

    def set_status(self, event_id: str, status: str) -> None: ...


def declare_actors(
    broker: dramatiq.Broker, events: EventSource, registry: Registry
) -> dramatiq.Actor[..., None]:
    """Declare ``dispatch`` on ``broker``: load the event and run the consumers routed to it."""

    def dispatch(event_id: str) -> None:
        event = events.load(event_id)
        if event is None:
            log.warning("event not found (expired or purged)", event_id=event_id)
            return
        bound = log.bind(event_id=event.id, source=event.source, delivery_id=event.delivery_id)
        routed = registry.routes(event.source, event.event_type)
        if not routed:
            events.set_status(event.id, "unrouted")
            bound.info("no consumer wants this event", event_type=event.event_type)
            return
        events.set_status(event.id, "processing")
        bound.info("dispatching", event_type=event.event_type, consumers=[c.name for c in routed])
        for consumer in routed:
            try:
                consumer.handler(Event(**{**event.__dict__, "consumer": consumer.name}))
            except Exception as exc:
                events.set_status(event.id, "retrying")
                bound.warning("consumer failed", consumer=consumer.name, error=f"{type(exc).__name__}: {exc}")
                raise
            bound.info("consumer succeeded", consumer=consumer.name)
        events.set_status(event.id, "processed")

    declare = dramatiq.actor(actor_name=DISPATCH, queue_name=DISPATCH, broker=broker)
    return declare(dispatch)
