"""hookgate's consumers: ``@consumer`` functions that process stored events, and the actors that run them."""

from consumers.actors import EventSource, declare_actors
from consumers.event import Event
from consumers.registry import Consumer, ConsumerError, Registry, consumer, load_modules, registry

__all__ = [
    "Consumer",
    "ConsumerError",
    "Event",
    "EventSource",
    "Registry",
    "consumer",
    "declare_actors",
    "load_modules",
    "registry",
]
