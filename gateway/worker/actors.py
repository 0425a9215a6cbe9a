"""The Dramatiq actors, declared on an explicit broker by ``declare_actors`` (never on import, so they can
never bind to Dramatiq's fallback broker on a default local port).

``dispatch(event_id)`` fans out one ``deliver(event_id, consumer)`` message per routed consumer, so each
consumer retries on its own and a failing one never holds back the others. An event with a single
routed consumer has its first attempt run inside ``dispatch`` (one message instead of two); only a
failure hands it over to a ``deliver`` message.

While tracing, ``dispatch`` and every attempt are spans of the event's trace: a message carries the
context it was sent in (``traceparent`` in its options), and a retry keeps its message's options.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import CurrentMessage, Retries
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from consumers.errors import Reject
from consumers.event import Event
from consumers.registry import Consumer, Registry
from gateway.platform import metrics, tracing
from gateway.store import keys
from gateway.store.ledger import Ledger, Operation
from gateway.worker.middleware import ATTEMPT, DeadLetterMiddleware, Outcomes

log = structlog.get_logger("hookgate.worker")


class StoredEvents(Protocol):
    """What the worker reads of the event store: where an event came from and its type."""

    def routing(self, event_id: str) -> tuple[str, str | None] | None: ...


@dataclass(frozen=True)
class Actors:
    dispatch: dramatiq.Actor[..., None]
    deliver: dramatiq.Actor[..., None]

    def deliver_message(self, event_id: str, consumer: Consumer, replay: int = 0) -> dramatiq.Message[None]:
        """A deliver message with the consumer's own retry settings, ready for the Redis broker; while
        tracing, it (and so each of its retries) carries the current span's context."""
        options = consumer.retry_options()
        kwargs = {"replay": replay} if replay else {}
        message = self.deliver.message_with_options(args=(event_id, consumer.name), kwargs=kwargs, **options)
        traceparent = tracing.current_traceparent()
        extra = {"traceparent": traceparent} if traceparent else {}
        return message.copy(options={"redis_message_id": str(uuid.uuid4()), **extra})

    def dispatch_message(self, event_id: str, source: str, event_type: str | None) -> dramatiq.Message[None]:
        """A dispatch message with the routing facts, as the gateway enqueues it."""
        message = self.dispatch.message(event_id, source, event_type or "")
        return message.copy(options={"redis_message_id": str(uuid.uuid4())})

    def send_to(self, event_id: str, consumer: str, replay: int = 0) -> None:
        """Enqueue one delivery with a fresh retry budget (the worker applies the consumer's own retry
        settings when it runs it)."""
        kwargs = {"replay": replay} if replay else {}
        self.deliver.send_with_options(args=(event_id, consumer), kwargs=kwargs)

    def replay(self, event_id: str, source: str, event_type: str | None, replay: int = 0) -> None:
        """Route the event again (its consumers that succeeded are skipped unless ``replay`` > 0)."""
        kwargs = {"replay": replay} if replay else {}
        self.dispatch.send_with_options(args=(event_id, source, event_type), kwargs=kwargs)

    def resend(self, event_id: str, consumer: str) -> None:
        """What a dead letter's retry enqueues: the delivery again, or the whole dispatch if that died."""
        if consumer == keys.DISPATCH_ACTOR:
            self.dispatch.send(event_id, None, None)
        else:
            self.send_to(event_id, consumer)


@functools.cache
def _metrics(consumer: str) -> tuple[Any, Any, Any]:
    """This consumer's metric children, looked up once rather than on every attempt."""
    return (
        metrics.CONSUMER_ATTEMPTS.labels(consumer, "succeeded"),
        metrics.CONSUMER_ATTEMPTS.labels(consumer, "failed"),
        metrics.CONSUMER_SECONDS.labels(consumer),
    )


def _attempt() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get(ATTEMPT, 1)) if message else 1


def _carried_context() -> Context | None:
    """The trace context the current message carries (None: none, a new trace)."""
    message = CurrentMessage.get_current_message()
    return tracing.context_of(message.options.get("traceparent")) if message else None


def declare_actors(
    broker: dramatiq.Broker,
    events: StoredEvents,
    registry: Registry,
    ledger: Ledger,
    outcomes: Outcomes,
) -> Actors:
    """Declare ``dispatch`` and ``deliver`` on ``broker``; what they decide is written through
    ``outcomes`` with their message's acknowledgement."""
    #: What a worker runs a failed deliver message through, in the broker's order.
    failure_path = [m for m in broker.middleware if isinstance(m, (Retries, DeadLetterMiddleware))]
    if len(failure_path) != 2:
        raise ValueError("the broker needs Dramatiq's Retries and hookgate's DeadLetterMiddleware")
    tracer = tracing.tracer()

    def later(operation: Operation) -> None:
        """Written with the current message's acknowledgement (outside a worker, at once)."""
        message = CurrentMessage.get_current_message()
        if message is None:
            ledger.apply([operation])
        else:
            outcomes.record(message.options["redis_message_id"], operation)

    def run(
        event_id: str, consumer: Consumer, attempt: int, replay: int = 0, parent: Context | None = None
    ) -> None:
        """One attempt; while tracing, a span under ``parent`` (else under the current span)."""
        if tracer is None:
            attempt_once(event_id, consumer, attempt, replay)
            return
        attributes: dict[str, str | int] = {
            tracing.EVENT_ID: event_id,
            tracing.CONSUMER: consumer.name,
            tracing.ATTEMPT: attempt,
        }
        with tracing.span(tracer, f"deliver {consumer.name}", parent=parent, attributes=attributes) as span:
            span.set_attribute(tracing.OUTCOME, attempt_once(event_id, consumer, attempt, replay))

    def attempt_once(event_id: str, consumer: Consumer, attempt: int, replay: int) -> str:
        """Skip if the ledger says it succeeded (not on a forced replay), run the handler, record success;
        the outcome: succeeded, skipped or missing."""
        start = outcomes.wait_out(lambda: ledger.begin(event_id, consumer.name, attempt, force=replay > 0))
        if start.outcome == "succeeded":
            log.info("already succeeded; skipped", event_id=event_id, consumer=consumer.name)
            return "skipped"
        if start.outcome == "gone":
            log.warning("event not found (expired or purged)", event_id=event_id, consumer=consumer.name)
            return "missing"
        event = Event.from_fields(event_id, start.fields, consumer.name, replay)
        succeeded, failed, seconds = _metrics(consumer.name)
        started = time.perf_counter()
        try:
            consumer.handler(event)
        except BaseException:
            failed.inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - started)
        elapsed_ms = (time.perf_counter() - started) * 1000
        later(ledger.success_op(event_id, consumer.name, attempt, elapsed_ms))
        succeeded.inc()
        log.info(
            "consumer succeeded",
            event_id=event_id,
            source=event.source,
            delivery_id=event.delivery_id,
            consumer=consumer.name,
            attempt=attempt,
            ms=round(elapsed_ms, 1),
        )
        return "succeeded"

    def first_attempt_inline(event_id: str, consumer: Consumer, replay: int) -> None:
        """With a single routed consumer there is nobody to hold back: its first attempt runs inside
        dispatch, saving a message. A failure then takes the path of every other attempt's: it is the
        first attempt of a deliver message, handed to the broker's own ``Retries`` and dead-letter
        middleware, in the order a worker calls them, so the budget, the backoff and the records are
        decided in one place. What they write goes with the dispatch message's acknowledgement."""
        try:
            run(event_id, consumer, 1, replay)
        except Exception as exc:
            message = actors.deliver_message(event_id, consumer, replay)
            current = CurrentMessage.get_current_message()
            if current is not None:
                message = message.copy(options={"redis_message_id": current.options["redis_message_id"]})
            attempt = MessageProxy(message)
            for middleware in failure_path:
                middleware.before_process_message(broker, attempt)
            for middleware in reversed(failure_path):
                middleware.after_process_message(broker, attempt, exception=exc)
            if attempt.failed:
                for middleware in failure_path:
                    middleware.before_nack(broker, attempt)

    def dispatch(
        event_id: str, source: str | None = None, event_type: str | None = None, replay: int = 0
    ) -> None:
        if tracer is None:
            hand_out(event_id, source, event_type, replay)
            return
        with tracing.span(
            tracer,
            "dispatch",
            parent=_carried_context(),
            kind=SpanKind.CONSUMER,
            attributes={tracing.EVENT_ID: event_id},
        ) as span:
            span.set_attribute(tracing.CONSUMERS, hand_out(event_id, source, event_type, replay))

    def hand_out(event_id: str, source: str | None, event_type: str | None, replay: int) -> list[str]:
        """Route the event and give it to its consumers; their names (none: unrouted or gone)."""
        if source is None:  # enqueued without routing facts (a replay): read them
            routing = outcomes.wait_out(lambda: events.routing(event_id))
            if routing is None:
                log.warning("event not found (expired or purged)", event_id=event_id)
                return []
            source, event_type = routing
        event_type = event_type or None
        routed = registry.routes(source, event_type)
        if not routed:
            later(Ledger.status_op(event_id, "unrouted"))
            log.info("no consumer wants this event", event_id=event_id, source=source, event_type=event_type)
            return []
        if len(routed) == 1:
            first_attempt_inline(event_id, routed[0], replay)
            return [routed[0].name]
        messages = [(c.name, actors.deliver_message(event_id, c, replay)) for c in routed]
        later(Ledger.fan_out_op(event_id, messages, force=replay > 0))
        names = [name for name, _ in messages]
        log.info("dispatching", event_id=event_id, source=source, event_type=event_type, consumers=names)
        return names

    def deliver(event_id: str, consumer: str, replay: int = 0) -> None:
        routed = registry.get(consumer)
        if routed is None:
            raise Reject(f"no consumer named {consumer!r} is loaded in this worker")
        current = CurrentMessage.get_current_message()
        if current is not None:  # sent by an operator, who has no consumer module: its own retry settings
            for name, value in routed.retry_options().items():
                current.options.setdefault(name, value)
        run(event_id, routed, _attempt(), replay, _carried_context() if tracer is not None else None)

    def declare(fn: Any, name: str, **options: Any) -> Any:
        return dramatiq.actor(actor_name=name, queue_name=name, broker=broker, **options)(fn)

    actors = Actors(
        dispatch=declare(dispatch, keys.DISPATCH_ACTOR),
        deliver=declare(deliver, keys.DELIVER_ACTOR, throws=(Reject,)),
    )
    return actors
