"""Dramatiq middleware that records every attempt's outcome and turns dead messages into DLQ entries.

List it *before* ``Retries``: Dramatiq runs "after" hooks in reverse order, so by the time these run,
``Retries`` has decided whether the message will be retried (``message.failed``).
"""

from __future__ import annotations

import traceback
from typing import Any

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from consumers.dlq import DeadLetters
from consumers.errors import Reject
from consumers.ledger import Ledger
from gateway import keys

log = structlog.get_logger("hookgate.worker")

ATTEMPT = "hg_attempt"
_ERROR = "hg_error"


def describe(exception: BaseException) -> str:
    return f"{type(exception).__name__}: {exception}"


class DeadLetterMiddleware(Middleware):
    """Attempt history, ``retrying``/``dead`` states and the dead-letter entry (``after_nack`` sees every
    way a message dies: retries exhausted, ``Reject``, skipped)."""

    def __init__(self, ledger: Ledger, dead_letters: DeadLetters) -> None:
        self.ledger = ledger
        self.dead_letters = dead_letters

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        message.options[ATTEMPT] = message.options.get("retries", 0) + 1

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
        error = message.options[_ERROR] = error_record(exception)
        if message.actor_name != keys.DELIVER_ACTOR:
            return
        event_id, consumer = message.args[0], message.args[1]
        final = bool(getattr(message, "failed", False))
        if not final:  # a final failure is recorded with its dead letter, in after_nack
            self.ledger.failed(
                event_id,
                consumer,
                message.options.get(ATTEMPT, 1),
                error["error"],
                rejected=False,
                final=False,
                traceback=error["traceback"],
            )
        log.warning(
            "consumer failed" + ("; giving up" if final else "; will retry"),
            event_id=event_id,
            consumer=consumer,
            message_id=message.message_id,
            attempt=message.options.get(ATTEMPT, 1),
            error=error["error"],
        )

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
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
        dead_letter(
            self.ledger, self.dead_letters, event_id, consumer, error, message.options.get(ATTEMPT, 1)
        )


def error_record(exception: BaseException) -> dict[str, Any]:
    return {
        "type": type(exception).__name__,
        "error": describe(exception),
        "traceback": "".join(traceback.format_exception(exception, limit=30)),
        "rejected": isinstance(exception, Reject),
    }


def dead_letter(
    ledger: Ledger,
    dead_letters: DeadLetters,
    event_id: str,
    consumer: str,
    error: dict[str, Any],
    attempts: int,
) -> str:
    """Write the DLQ entry for an (event, consumer) whose attempts are over, then mark it dead (so a
    ``dead`` status always has its entry)."""
    fields = ledger.event_fields(event_id)
    entry = dead_letters.add(
        event_id=event_id,
        consumer=consumer,
        source=fields.get("source", ""),
        event_type=fields.get("event_type") or None,
        error_type=error["type"],
        error=error["error"],
        traceback=error["traceback"],
        attempts=attempts,
    )
    if consumer != keys.DISPATCH_ACTOR:
        rejected = bool(error.get("rejected"))
        ledger.failed(
            event_id,
            consumer,
            attempts,
            error["error"],
            rejected=rejected,
            final=True,
            traceback=error.get("traceback"),
        )
    log.error(
        "dead-lettered",
        event_id=event_id,
        consumer=consumer,
        dlq_id=entry,
        attempts=attempts,
        error=error["error"],
    )
    return entry
