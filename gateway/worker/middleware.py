"""Dramatiq middleware that records every attempt's outcome and turns dead messages into DLQ entries.

It writes nothing itself: each outcome is handed to the broker (``Outcomes.record``), which writes it in
the same atomic step as the message's acknowledgement, so no message is acknowledged before its outcome
is durable and a Redis error can never be swallowed between the two.

List it *before* ``Retries``: Dramatiq runs "after" hooks in reverse order, so by the time these run,
``Retries`` has decided whether the message will be retried (``message.failed``).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from consumers.errors import Reject, RetryLater
from gateway.store import keys
from gateway.store.dlq import dead_letter_op
from gateway.store.ledger import Ledger, Operation
from gateway.worker.transforms import TransformFailed

log = structlog.get_logger("hookgate.worker")

T = TypeVar("T")

ATTEMPT = "hg_attempt"
_ERROR = "hg_error"
#: Where ``Retries`` leaves the failure's traceback, formatted (limit 30, as ours).
_RETRIES_TRACEBACK = "traceback"


class Outcomes(Protocol):
    """The worker's broker as the actors and this middleware see it: where a message's outcome waits
    until it is written with the message's acknowledgement, and how a read waits out a Redis outage."""

    def record(self, message_id: str, operation: Operation) -> None: ...

    def wait_out(self, call: Callable[[], T]) -> T: ...


def one_line(exception: BaseException) -> str:
    """``Type: message``, as failures are shown and grouped."""
    return f"{type(exception).__name__}: {exception}"


class DeadLetterMiddleware(Middleware):
    """Attempt history, ``retrying``/``dead`` states and the dead-letter entry (``before_nack`` sees every
    way a message dies, before it is gone: retries exhausted, ``Reject``, skipped)."""

    def __init__(self, outcomes: Outcomes) -> None:
        self.outcomes = outcomes

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        message.options[ATTEMPT] = message.options.get("retries", 0) + 1
        message.options.pop(_RETRIES_TRACEBACK, None)  # so one found later is this attempt's

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            return
        error = error_record(exception, message.options.get(_RETRIES_TRACEBACK))
        message.options[_ERROR] = error
        if message.actor_name != keys.DELIVER_ACTOR:
            log.error(
                f"{message.actor_name} failed",
                event_id=message.args[0] if message.args else None,
                message_id=message.message_id,
                error_type=error["type"],
                error=error["error"],
                exception=error["traceback"],
            )
            return
        event_id, consumer = message.args[0], message.args[1]
        final = bool(getattr(message, "failed", False))
        attempt = message.options.get(ATTEMPT, 1)
        self.outcomes.record(message.options["redis_message_id"], lane_outcome(consumer, message, exception))
        if not final:  # a final failure is recorded with its dead letter, before the nack
            self.outcomes.record(
                message.options["redis_message_id"],
                Ledger.failure_op(
                    event_id,
                    consumer,
                    attempt,
                    error["error"],
                    error_type=error["type"],
                    traceback=error["traceback"],
                ),
            )
        log.warning(
            "consumer failed" + ("; giving up" if final else "; will retry"),
            event_id=event_id,
            consumer=consumer,
            message_id=message.message_id,
            attempt=attempt,
            error_type=error["type"],
            error=error["error"],
        )

    def before_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if message.actor_name == keys.DELIVER_ACTOR:
            event_id, consumer = message.args[0], message.args[1]
        elif message.actor_name == keys.DISPATCH_ACTOR:
            event_id, consumer = message.args[0], keys.DISPATCH_ACTOR
        else:
            return
        error = message.options.get(_ERROR) or {
            "type": "Skipped",
            "error": "Skipped: the message was dropped before it ran (age or time limit)",
            "traceback": "",
        }
        self.outcomes.record(
            message.options["redis_message_id"],
            dead_letter(event_id, consumer, error, message.options.get(ATTEMPT, 1)),
        )


def lane_outcome(consumer: str, message: MessageProxy, exception: BaseException) -> Operation:
    """What a failed attempt tells the consumer's lane: a ``Reject`` is the destination's verdict on this
    event and a ``TransformFailed`` the forward's own bug (neutral); anything else counts against its
    breaker, and a ``RetryLater`` (a 429 or 503 with Retry-After) says how long the destination wants to be
    left alone."""
    if isinstance(exception, Reject | TransformFailed):
        return Ledger.lane_op(consumer, message.options["redis_message_id"], "neutral")
    retry_after_ms = int(exception.delay_seconds * 1000) if isinstance(exception, RetryLater) else 0
    return Ledger.lane_op(
        consumer,
        message.options["redis_message_id"],
        "failure",
        retry_after_ms=retry_after_ms,
        error=one_line(exception),
    )


def error_record(exception: BaseException, formatted: str | None = None) -> dict[str, Any]:
    """What is kept of a failure. ``formatted`` is its traceback when ``Retries`` has already formatted
    it (formatting one costs a worker as much as a failed HTTP attempt: do it once)."""
    return {
        "type": type(exception).__name__,
        "error": one_line(exception),
        "traceback": formatted or "".join(traceback.format_exception(exception, limit=30)),
        "rejected": isinstance(exception, Reject),
    }


def dead_letter(event_id: str, consumer: str, error: dict[str, Any], attempts: int) -> Operation:
    """The dead letter of an (event, consumer) whose attempts are over, logged once here."""
    operation = dead_letter_op(
        event_id,
        consumer,
        error["type"],
        error["error"],
        error["traceback"],
        attempts,
        rejected=bool(error.get("rejected")),
    )
    log.error(
        "dead-lettered",
        event_id=event_id,
        consumer=consumer,
        dlq_id=operation["entry"],
        attempts=attempts,
        error=error["error"],
    )
    return operation
