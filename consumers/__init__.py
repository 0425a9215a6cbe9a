"""hookgate's consumers: ``@consumer`` functions that process stored events, and the actors that run them."""

from consumers.actors import StoredEvents, declare_actors
from consumers.errors import ConsumerConfigError, ConsumersError, Reject, RetryLater
from consumers.event import Event
from consumers.registry import Consumer, Registry, consumer, load_modules, registry

__all__ = [
    "Consumer",
    "ConsumerConfigError",
    "ConsumersError",
    "Event",
    "Registry",
    "Reject",
    "RetryLater",
    "StoredEvents",
    "consumer",
    "declare_actors",
    "load_modules",
    "registry",
]
