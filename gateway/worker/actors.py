"""The Dramatiq actors, declared on an explicit broker by ``declare_actors`` (never on import, so they can
never bind to Dramatiq's fallback broker on a default local port).

``dispatch(event_id)`` fans out one ``deliver(event_id, consumer)`` message per routed consumer, so each
consumer retries on its own and a failing one never holds back the others. A consumer whose filter
declines the event (``routing.Filters``) gets no message: it is recorded ``filtered`` there and then.
An event with a single routed consumer has its first attempt run inside ``dispatch`` (one message
instead of two); only a failure hands it over to a ``deliver`` message. An ordered consumer's message
carries its key (``ordering``), and its delivery waits its key's turn in Redis; run inline, its first
attempt starts only if it can take its key at once, else it is handed over to wait its turn.

While tracing, ``dispatch`` and every attempt are spans of the event's trace: a message carries the
context it was sent in (``traceparent`` in its options), and a retry keeps its message's options.

The parts: ``Dispatch`` and ``Deliver`` are the two actors' functions; both run a consumer through
``Attempts``; ``FailurePath`` hands the inline first attempt's failure to the broker's own middleware;
``OutcomeWriter`` writes what they decide with the message's acknowledgement.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import CurrentMessage, Retries
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer

from consumers.errors import Declined, Reject
from consumers.event import Event
from consumers.registry import Consumer, Registry
from gateway.config.filtering import Request
from gateway.platform import metrics, tracing
from gateway.store import keys
from gateway.store.ledger import Ledger, Operation, Start
from gateway.worker.broker import HookgateBroker
from gateway.worker.holdings import Fetched
from gateway.worker.middleware import ATTEMPT, DeadLetterMiddleware, Outcomes
from gateway.worker.ordering import Orderings
from gateway.worker.routing import Check, Filters

log = structlog.get_logger("hookgate.worker")


class StoredEvents(Protocol):
    """What the worker reads of the event store: where an event came from and its type, and what its
    consumers' filters look at."""

    def routing(self, event_id: str) -> tuple[str, str | None] | None: ...

    def filter_request(self, event_id: str) -> Request | None: ...

    def filter_requests(self, event_ids: Sequence[str]) -> list[Request | None]: ...


@dataclass(frozen=True)
class Actors:
    dispatch: dramatiq.Actor[..., None]
    deliver: dramatiq.Actor[..., None]

    def deliver_message(self, event_id: str, consumer: Consumer, replay: int = 0) -> dramatiq.Message[None]:
        """A deliver message with the consumer's own retry settings, ready for the Redis broker; while
        tracing, it (and so each of its retries) carries the current span's context."""
        return _deliver_message(self.deliver, event_id, consumer, replay)

    def dispatch_message(self, event_id: str, source: str, event_type: str | None) -> dramatiq.Message[None]:
        """A dispatch message with the routing facts, as the gateway enqueues it."""
        message = self.dispatch.message(event_id, source, event_type or "")
        return message.copy(options={"redis_message_id": str(uuid.uuid4())})

    def send_to(self, event_id: str, consumer: str, replay: int = 0) -> None:
        """Enqueue one delivery with a fresh retry budget (the worker applies the consumer's own retry
        settings when it runs it)."""
        kwargs = {"replay": replay} if replay else {}
        self.deliver.send_with_options(args=(event_id, consumer), kwargs=kwargs)

    def replay(
        self,
        event_id: str,
        source: str,
        event_type: str | None,
        replay: int = 0,
        *,
        ignore_filters: bool = False,
    ) -> None:
        """Route the event again (its consumers that succeeded are skipped unless ``replay`` > 0); its
        consumers' filters decide again, unless ``ignore_filters``."""
        kwargs: dict[str, Any] = {"replay": replay} if replay else {}
        if ignore_filters:
            kwargs["ignore_filters"] = True
        self.dispatch.send_with_options(args=(event_id, source, event_type), kwargs=kwargs)

    def resend(self, event_id: str, consumer: str) -> None:
        """What a dead letter's retry enqueues: the delivery again, or the whole dispatch if that died."""
        if consumer == keys.DISPATCH_ACTOR:
            self.dispatch.send(event_id, None, None)
        else:
            self.send_to(event_id, consumer)


@functools.cache
def _filtered(consumer: str) -> Any:
    return metrics.CONSUMER_FILTERED.labels(consumer)


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


def _current_id() -> str:
    """The id of the message this thread runs ('' outside a worker): what its lane admitted."""
    message = CurrentMessage.get_current_message()
    return str(message.options["redis_message_id"]) if message else ""


def _carried_context() -> Context | None:
    """The trace context the current message carries (None: none, a new trace)."""
    message = CurrentMessage.get_current_message()
    return tracing.context_of(message.options.get("traceparent")) if message else None


def _deliver_message(
    deliver: dramatiq.Actor[..., None],
    event_id: str,
    consumer: Consumer,
    replay: int = 0,
    order_key: str | None = None,
) -> dramatiq.Message[None]:
    """A deliver message with the consumer's own retry settings, ready for the Redis broker; while
    tracing, it (and so each of its retries) carries the current span's context; for an ordered
    consumer, its key."""
    options = consumer.retry_options()
    kwargs = {"replay": replay} if replay else {}
    message = deliver.message_with_options(args=(event_id, consumer.name), kwargs=kwargs, **options)
    traceparent = tracing.current_traceparent()
    extra: dict[str, str] = {"traceparent": traceparent} if traceparent else {}
    if order_key is not None:
        extra[keys.ORDER_KEY_OPTION] = order_key
    return message.copy(options={"redis_message_id": str(uuid.uuid4()), **extra})


class OutcomeWriter:
    """Writes what an actor decided with its message's acknowledgement (outside a worker, at once)."""

    def __init__(self, ledger: Ledger, outcomes: Outcomes) -> None:
        self._ledger = ledger
        self._outcomes = outcomes

    def later(self, operation: Operation) -> None:
        message = CurrentMessage.get_current_message()
        if message is None:
            self._ledger.apply([operation])
        else:
            self._outcomes.record(message.options["redis_message_id"], operation)


class Attempts:
    """Runs one attempt of a consumer: skip it if the ledger says it succeeded (not on a forced replay),
    run the handler, record the success."""

    def __init__(
        self, ledger: Ledger, outcomes: Outcomes, writer: OutcomeWriter, tracer: Tracer | None
    ) -> None:
        self._ledger = ledger
        self._outcomes = outcomes
        self._writer = writer
        self._tracer = tracer

    def run(
        self,
        event_id: str,
        consumer: Consumer,
        attempt: int,
        replay: int = 0,
        parent: Context | None = None,
        *,
        inline: bool = False,
        order_key: str | None = None,
        check: Check | None = None,
    ) -> str:
        """One attempt; while tracing, a span under ``parent`` (else under the current span). Its outcome:
        succeeded, filtered (the consumer, or ``check`` on the event's stored fields, declined the event),
        skipped, missing, held (its lane did not start it: the caller holds it) or, inline with an
        ``order_key``, parked (not its key's turn yet: the caller hands it over)."""
        if self._tracer is None:
            return self._once(event_id, consumer, attempt, replay, inline, order_key, check)
        attributes: dict[str, str | int] = {
            tracing.EVENT_ID: event_id,
            tracing.CONSUMER: consumer.name,
            tracing.ATTEMPT: attempt,
        }
        with tracing.span(
            self._tracer, f"deliver {consumer.name}", parent=parent, attributes=attributes
        ) as span:
            outcome = self._once(event_id, consumer, attempt, replay, inline, order_key, check)
            span.set_attribute(tracing.OUTCOME, outcome)
            return outcome

    def _once(
        self,
        event_id: str,
        consumer: Consumer,
        attempt: int,
        replay: int,
        inline: bool,
        order_key: str | None = None,
        check: Check | None = None,
    ) -> str:
        """The attempt's outcome (a failure raises). With ``check``, the start reads the event for it in
        the same round trip, and a declined start is taken back: recorded ``filtered``, never held."""
        message_id = _current_id()

        def begin() -> Start:
            return self._ledger.begin(
                event_id,
                consumer.name,
                attempt,
                force=replay > 0,
                message_id=message_id,
                inline=inline,
                order_key=order_key,
                checks=check is not None,
            )

        start = self._outcomes.wait_out(begin)
        if check is not None and start.fields:
            declined = check(start.fields)
            if declined is not None:
                self._writer.later(
                    Ledger.filtered_op(event_id, consumer.name, declined, retract=start.record)
                )
                if start.outcome == "started" and message_id:
                    self._writer.later(Ledger.lane_op(consumer.name, message_id, "neutral"))
                _filtered(consumer.name).inc()
                log.info("filtered", event_id=event_id, declined=[consumer.name])
                return "filtered"
        if start.outcome in ("held", "parked"):
            return start.outcome
        if start.outcome != "started" and message_id and not inline:  # a probe's turn goes on
            self._writer.later(Ledger.lane_op(consumer.name, message_id, "neutral"))
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
        except Declined as declined:
            self._writer.later(Ledger.filtered_op(event_id, consumer.name, str(declined) or "declined"))
            if message_id:
                self._writer.later(Ledger.lane_op(consumer.name, message_id, "neutral"))
            _filtered(consumer.name).inc()
            log.info("consumer declined the event", event_id=event_id, consumer=consumer.name)
            return "filtered"
        except BaseException:
            failed.inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - started)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._writer.later(self._ledger.success_op(event_id, consumer.name, attempt, elapsed_ms))
        if message_id:
            self._writer.later(Ledger.lane_op(consumer.name, message_id, "success"))
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


class FailurePath:
    """The broker's own ``Retries`` and dead-letter middleware, called on a failed attempt in the order a
    worker calls them, so the budget, the backoff and the records are decided in one place."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker
        self._middleware = [m for m in broker.middleware if isinstance(m, (Retries, DeadLetterMiddleware))]
        if len(self._middleware) != 2:
            raise ValueError("the broker needs Dramatiq's Retries and hookgate's DeadLetterMiddleware")

    def failed(self, message: dramatiq.Message[None], exc: Exception) -> None:
        """``message``'s attempt raised ``exc``: retry it or dead-letter it."""
        attempt = MessageProxy(message)
        for middleware in self._middleware:
            middleware.before_process_message(self._broker, attempt)
        for middleware in reversed(self._middleware):
            middleware.after_process_message(self._broker, attempt, exception=exc)
        if attempt.failed:
            for middleware in self._middleware:
                middleware.before_nack(self._broker, attempt)


class Dispatch:
    """The ``dispatch`` actor: route the event and give it to its consumers."""

    def __init__(
        self,
        events: StoredEvents,
        registry: Registry,
        filters: Filters,
        outcomes: Outcomes,
        writer: OutcomeWriter,
        attempts: Attempts,
        failure_path: FailurePath,
        deliver: dramatiq.Actor[..., None],
        tracer: Tracer | None,
        orderings: Orderings | None = None,
    ) -> None:
        self._events = events
        self._registry = registry
        self._filters = filters
        self._orderings = orderings or Orderings()
        self._outcomes = outcomes
        self._writer = writer
        self._attempts = attempts
        self._failure_path = failure_path
        self._deliver = deliver
        self._tracer = tracer

    def __call__(
        self,
        event_id: str,
        source: str | None = None,
        event_type: str | None = None,
        replay: int = 0,
        ignore_filters: bool = False,
    ) -> None:
        if self._tracer is None:
            self._hand_out(event_id, source, event_type, replay, ignore_filters)
            return
        with tracing.span(
            self._tracer,
            "dispatch",
            parent=_carried_context(),
            kind=SpanKind.CONSUMER,
            attributes={tracing.EVENT_ID: event_id},
        ) as span:
            consumers = self._hand_out(event_id, source, event_type, replay, ignore_filters)
            span.set_attribute(tracing.CONSUMERS, consumers)

    def _hand_out(
        self, event_id: str, source: str | None, event_type: str | None, replay: int, ignore_filters: bool
    ) -> list[str]:
        """Route the event and give it to the consumers that want it; their names (none: unrouted, every
        consumer declined it, or gone). Whatever the outcome, the event is then dispatched: ordered
        deliveries of its source stop waiting for it."""
        consumers = self._route(event_id, source, event_type, replay, ignore_filters)
        self._writer.later(Ledger.dispatched_op(event_id, source))
        return consumers

    def _route(
        self, event_id: str, source: str | None, event_type: str | None, replay: int, ignore_filters: bool
    ) -> list[str]:
        if source is None:  # enqueued without routing facts (a replay): read them
            routing = self._outcomes.wait_out(lambda: self._events.routing(event_id))
            if routing is None:
                log.warning("event not found (expired or purged)", event_id=event_id)
                return []
            source, event_type = routing
        event_type = event_type or None
        routed = self._registry.routes(source, event_type)
        if not routed:
            self._writer.later(Ledger.status_op(event_id, "unrouted"))
            log.info("no consumer wants this event", event_id=event_id, source=source, event_type=event_type)
            return []
        filtering = not ignore_filters and self._filters.any(routed)
        request = None
        if _reads_event(routed, self._filters, self._orderings, ignore_filters):
            # One read (usually done with the message's fetch), for the filters and the keys.
            request = _read_ahead() or self._outcomes.wait_out(lambda: self._events.filter_request(event_id))
            if request is None:
                log.warning("event not found (expired or purged)", event_id=event_id)
                return []
            if filtering:
                routed = self._filter(event_id, routed, request)
                if not routed:
                    return []
        elif len(routed) == 1:  # its first attempt runs here; its filter checks what the start reads
            check = self._filters.check_for(routed[0]) if filtering else None
            self._first_attempt_inline(event_id, routed[0], replay, check=check)
            return [routed[0].name]
        keys_of = (
            {c.name: self._orderings.key(c.name, request) for c in routed} if request is not None else {}
        )
        if len(routed) == 1:
            self._first_attempt_inline(event_id, routed[0], replay, keys_of.get(routed[0].name))
            return [routed[0].name]
        messages = [
            (c.name, _deliver_message(self._deliver, event_id, c, replay, keys_of.get(c.name)))
            for c in routed
        ]
        self._writer.later(Ledger.fan_out_op(event_id, messages, force=replay > 0))
        names = [name for name, _ in messages]
        log.info("dispatching", event_id=event_id, source=source, event_type=event_type, consumers=names)
        return names

    def _filter(self, event_id: str, routed: list[Consumer], request: Request) -> list[Consumer]:
        """The routed consumers whose filters want the event; the others are recorded ``filtered``."""
        verdicts = self._filters.split(routed, request)
        for consumer, reason in verdicts.declined:
            self._writer.later(Ledger.filtered_op(event_id, consumer.name, reason))
            _filtered(consumer.name).inc()
        if verdicts.declined:
            log.info(
                "filtered",
                event_id=event_id,
                declined=[consumer.name for consumer, _ in verdicts.declined],
            )
        return verdicts.wanted

    def _first_attempt_inline(
        self,
        event_id: str,
        consumer: Consumer,
        replay: int,
        order_key: str | None = None,
        *,
        check: Check | None = None,
    ) -> None:
        """With a single routed consumer there is nobody to hold back: its first attempt runs inside
        dispatch, saving a message. A failure then takes the path of every other attempt's: it is the
        first attempt of a deliver message, handed to the ``FailurePath``. What it writes goes with the
        dispatch message's acknowledgement. An ordered consumer's attempt runs here only if it can take
        its key at once; else it is fanned out, to wait its turn."""
        try:
            outcome = self._attempts.run(
                event_id, consumer, 1, replay, inline=True, order_key=order_key, check=check
            )
        except Exception as exc:
            message = _deliver_message(self._deliver, event_id, consumer, replay, order_key)
            current = CurrentMessage.get_current_message()
            if current is not None:
                message = message.copy(options={"redis_message_id": current.options["redis_message_id"]})
            self._failure_path.failed(message, exc)
            return
        if outcome == "parked":  # not its key's turn: a deliver message waits for it
            message = _deliver_message(self._deliver, event_id, consumer, replay, order_key)
            self._writer.later(Ledger.fan_out_op(event_id, [(consumer.name, message)], force=replay > 0))
        elif outcome == "held":  # its lane did not start it: a deliver message waits there instead
            message = _deliver_message(self._deliver, event_id, consumer, replay, order_key)
            self._writer.later(
                Ledger.hold_op(
                    event_id,
                    consumer.name,
                    message.options["redis_message_id"],
                    message.encode().decode(),
                    release=_current_id(),
                )
            )


class ReadAhead:
    """What dispatch reads of an event to route it, read with the fetch of its message: for an event
    routed to several consumers of which one has a filter, or to an ordered consumer (a single unordered
    consumer's filter checks what its attempt's start reads). One pipelined read per fetch of dispatch
    messages, instead of one per event."""

    def __init__(
        self, events: StoredEvents, registry: Registry, filters: Filters, orderings: Orderings
    ) -> None:
        self._events = events
        self._registry = registry
        self._filters = filters
        self._orderings = orderings

    def needs(self, message: Fetched) -> bool:
        """Whether dispatching ``message`` reads its event."""
        if len(message.args) < 2 or not message.args[1]:  # a replay without routing facts reads them
            return False
        routed = self._registry.routes(
            message.args[1], (message.args[2] if len(message.args) > 2 else None) or None
        )
        ignore_filters = bool(message.kwargs.get("ignore_filters"))
        return _reads_event(routed, self._filters, self._orderings, ignore_filters)

    def __call__(self, messages: list[Fetched]) -> None:
        wanted = [message for message in messages if self.needs(message)]
        if wanted:
            found = self._events.filter_requests([message.args[0] for message in wanted])
            for message, request in zip(wanted, found, strict=True):
                message.read_ahead = request


def _reads_event(
    routed: Sequence[Consumer], filters: Filters, orderings: Orderings, ignore_filters: bool
) -> bool:
    """Whether dispatching to ``routed`` reads the event first: for its ordering keys, or for a fan-out's
    filters (a single unordered consumer's filter checks what its attempt's start reads)."""
    if orderings.any(routed):
        return True
    return len(routed) > 1 and not ignore_filters and filters.any(routed)


def _read_ahead() -> Request | None:
    """What the current message's fetch read for it (None: nothing; the event is read now)."""
    found = getattr(CurrentMessage.get_current_message(), "read_ahead", None)
    return found if isinstance(found, Request) else None


class Deliver:
    """The ``deliver`` actor: one attempt of one consumer."""

    def __init__(
        self, registry: Registry, attempts: Attempts, writer: OutcomeWriter, tracer: Tracer | None
    ) -> None:
        self._registry = registry
        self._attempts = attempts
        self._writer = writer
        self._tracer = tracer

    def __call__(self, event_id: str, consumer: str, replay: int = 0) -> None:
        routed = self._registry.get(consumer)
        if routed is None:
            raise Reject(f"no consumer named {consumer!r} is loaded in this worker")
        current = CurrentMessage.get_current_message()
        if current is not None:  # sent by an operator, who has no consumer module: its own retry settings
            for name, value in routed.retry_options().items():
                current.options.setdefault(name, value)
        parent = _carried_context() if self._tracer is not None else None
        if self._attempts.run(event_id, routed, _attempt(), replay, parent) == "held" and current is not None:
            # Its lane did not start it (breaker open, paused, at its bound): it waits there, as it is.
            held = current.copy(options={"redis_message_id": str(uuid.uuid4())})
            self._writer.later(
                Ledger.hold_op(
                    event_id,
                    consumer,
                    held.options["redis_message_id"],
                    held.encode().decode(),
                    release=current.options["redis_message_id"],
                )
            )


def declare_actors(
    broker: dramatiq.Broker,
    events: StoredEvents,
    registry: Registry,
    ledger: Ledger,
    outcomes: Outcomes,
    orderings: Orderings | None = None,
) -> Actors:
    """Declare ``dispatch`` and ``deliver`` on ``broker``; what they decide is written through
    ``outcomes`` with their message's acknowledgement. ``orderings``: the ordered consumers' keys."""
    failure_path = FailurePath(broker)
    tracer = tracing.tracer()
    writer = OutcomeWriter(ledger, outcomes)
    attempts = Attempts(ledger, outcomes, writer, tracer)
    deliver = _declare(
        broker, Deliver(registry, attempts, writer, tracer), keys.DELIVER_ACTOR, throws=(Reject,)
    )
    filters = Filters(registry)
    dispatch = Dispatch(
        events, registry, filters, outcomes, writer, attempts, failure_path, deliver, tracer, orderings
    )
    if isinstance(broker, HookgateBroker):
        broker.read_ahead[keys.DISPATCH_QUEUE] = ReadAhead(
            events, registry, filters, orderings or Orderings()
        )
    return Actors(dispatch=_declare(broker, dispatch, keys.DISPATCH_ACTOR), deliver=deliver)


def _declare(
    broker: dramatiq.Broker, fn: Callable[..., None], name: str, **options: Any
) -> dramatiq.Actor[..., None]:
    return dramatiq.actor(actor_name=name, queue_name=name, broker=broker, **options)(fn)
