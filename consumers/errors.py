"""What consumers raise, and what goes wrong declaring them.

    ConsumersError
    ├── ConsumerConfigError    a consumer is declared or loaded wrongly (duplicate name, missing module)
    ├── Reject                 give up now: no more retries, straight to the dead-letter queue
    ├── RetryLater             retry, but not sooner than ``delay_seconds`` (a target's Retry-After)
    └── Declined               this consumer does not want the event: recorded ``filtered``, not a failure

Any other exception from a consumer is retried with exponential backoff and jitter.
"""

from __future__ import annotations

import dramatiq


class ConsumersError(Exception):
    """Root of this package's errors."""


class ConsumerConfigError(ConsumersError):
    """A consumer is declared or loaded wrongly."""


class Reject(ConsumersError):
    """The event cannot succeed by retrying (a 4xx from a target, invalid data): dead-letter it now."""


class RetryLater(ConsumersError, dramatiq.Retry):
    """A temporary failure with a known wait; Dramatiq's ``Retries`` middleware honours the delay."""

    def __init__(self, message: str, *, delay_seconds: float) -> None:
        self.delay_seconds = delay_seconds
        dramatiq.Retry.__init__(self, message, delay=max(0, int(delay_seconds * 1000)))
        self.args = (message,)


class Declined(ConsumersError):
    """The consumer does not want this event (a transformation returned None, or a handler decided so):
    its outcome is ``filtered``, never retried, dead-lettered or counted as a failure."""
