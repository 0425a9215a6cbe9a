"""What users import to write consumers: ``@consumer``, ``Event``, the errors they raise, the registry."""

from consumers.errors import ConsumerConfigError, ConsumersError, Declined, Reject, RetryLater
from consumers.event import Event
from consumers.registry import Consumer, Registry, consumer, load_modules, registry

__all__ = [
    "Consumer",
    "ConsumerConfigError",
    "ConsumersError",
    "Declined",
    "Event",
    "Registry",
    "Reject",
    "RetryLater",
    "consumer",
    "load_modules",
    "registry",
]
