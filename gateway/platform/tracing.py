"""OpenTelemetry tracing: one trace per event, from the receiving gateway to the forward's HTTP call.

Off unless ``[tracing] enabled`` or the standard ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`` variable says
otherwise; ``start`` then installs this process's tracer, exporting over OTLP/HTTP in batches. The
instrumented code checks ``tracer()`` once, when it is built: with tracing off no span is ever made.

The context travels as a W3C ``traceparent``: stored with the event, carried in the Dramatiq messages'
options (dispatch, deliver, and so every retry) and sent on in the forward request.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from gateway.config import TracingSettings

#: Span attributes; never a secret, a header value or a body.
SOURCE = "hookgate.source"
DELIVERY_ID = "hookgate.delivery_id"
EVENT_ID = "hookgate.event_id"
EVENT_TYPE = "hookgate.event_type"
CONSUMER = "hookgate.consumer"
CONSUMERS = "hookgate.consumers"
ATTEMPT = "hookgate.attempt"
OUTCOME = "hookgate.outcome"
ERROR_TYPE = "error.type"

#: The headers a W3C trace context travels in (a traceparent's tracestate belongs to its trace).
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
_PROPAGATOR = TraceContextTextMapPropagator()
_SAMPLED, _NOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.DEFAULT)
_SPAN_ID_MASK = (1 << 64) - 1  # a span id's bits; also the trace id's low bits the ratio sampler reads

_provider: TracerProvider | None = None
_tracer: Tracer | None = None
_receiving: _Receiving | None = None
_current_receive: ContextVar[ReceiveSpan | None] = ContextVar("hookgate_receive_span", default=None)


def enabled(settings: TracingSettings) -> bool:
    """On by ``[tracing] enabled`` or a standard OTLP endpoint variable, unless ``OTEL_SDK_DISABLED``."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return settings.enabled or any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)


def start(settings: TracingSettings, *, exporter: SpanExporter | None = None) -> bool:
    """Install this process's tracer when ``settings`` turn tracing on (OTLP/HTTP unless ``exporter`` is
    given); whether they did. The SDK is imported only then."""
    global _provider, _tracer, _receiving
    stop()  # a second start replaces the first
    if not enabled(settings):
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from gateway.platform.otlp import LightSpans, OTLPSpanExporter, ReadableSpans

    sampler = TraceIdRatioBased(settings.sample_ratio)
    provider = TracerProvider(
        sampler=ParentBased(sampler),
        resource=Resource.create({SERVICE_NAME: settings.service_name}),
    )
    scope = InstrumentationScope("hookgate")
    if exporter is None:  # OTLP: the SDK's spans through its batch processor, receive spans through ours
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(_endpoint(settings))))
        light = LightSpans(OTLPSpanExporter(_endpoint(settings)), provider.resource, scope)
        finish: Callable[[ReceiveSpan], None] = light.add
        flush: Callable[[], None] = light.shutdown
    else:  # any other exporter gets the SDK's spans only, receive spans made readable on the way
        processor = BatchSpanProcessor(ReadableSpans(exporter))
        provider.add_span_processor(processor)
        finish, flush = processor.on_end, lambda: None  # type: ignore[assignment]  # it reads ``context`` only
    _provider, _tracer = provider, provider.get_tracer("hookgate")
    _receiving = _Receiving(
        provider,
        finish,
        flush,
        provider.resource,
        scope,
        sampler.bound,
        type(provider.id_generator) is RandomIdGenerator,
        ReadableSpan,
    )
    return True


def stop() -> None:
    """Export the spans still waiting and turn tracing off."""
    global _provider, _tracer, _receiving
    if _receiving is not None:
        _receiving.shutdown()
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = _receiving = None


def tracer() -> Tracer | None:
    """This process's tracer; None while tracing is off."""
    return _tracer


def _endpoint(settings: TracingSettings) -> str | None:
    """``[tracing] endpoint`` (a bare ``scheme://host:port`` gets OTLP's ``/v1/traces``), else None so the
    exporter reads the OTEL_* variables, else the local collector's default."""
    if settings.endpoint is None and any(os.environ.get(name) for name in _ENDPOINT_VARIABLES):
        return None
    url = settings.endpoint or _DEFAULT_ENDPOINT
    return url.rstrip("/") + "/v1/traces" if urlsplit(url).path in ("", "/") else url


@contextmanager
def span(
    tracer: Tracer,
    name: str,
    *,
    parent: Context | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Iterator[Span]:
    """A span, current for the block, under ``parent`` (else the current span). An exception marks it
    failed with the error's type only: messages may quote what a consumer saw."""
    with tracer.start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:  # a time limit or a shutdown ends the attempt too
            current.set_attributes({OUTCOME: "failed", ERROR_TYPE: type(exc).__name__})
            current.set_status(StatusCode.ERROR, type(exc).__name__)
            raise


@dataclass(frozen=True)
class _Receiving:
    """What receive spans need from the tracer provider ``start`` installed."""

    provider: TracerProvider
    finish: Callable[[ReceiveSpan], None]  # takes an ended, sampled receive span on to be exported
    shutdown: Callable[[], None]  # sends what ``finish`` still holds and stops it
    resource: Resource
    scope: InstrumentationScope
    bound: int  # the provider's ratio sampler's, for a root span, as a receive span always is
    random_ids: bool  # the provider makes its ids with the SDK's random generator
    finished: type[ReadableSpan]  # the SDK's, imported by ``start`` with the rest of it

    def new_ids(self) -> int:
        """A new trace id and span id, as one 192-bit number (the trace id in its top 128 bits)."""
        if self.random_ids:  # what the generator does, in one call for both
            ids = random.getrandbits(192)
            while not ids >> 64 or not ids & _SPAN_ID_MASK:  # a zero id is invalid: draw again
                ids = random.getrandbits(192)
            return ids
        generator = self.provider.id_generator
        return generator.generate_trace_id() << 64 | generator.generate_span_id()


class ReceiveSpan:
    """The gateway's span for one delivery, current while the block runs (for what the receiver
    records, the ``traceparent`` stored with the event, log lines). Always a new trace: senders are not
    trusted to choose our trace ids or sampling, so a sender's own ``traceparent`` becomes a link.

    The receive path makes one per request, and the SDK's span costs ~30 µs to start, annotate and end
    (locks, bounded attributes, context attach and detach, then a ``ReadableSpan``). This one keeps what
    the receiver records in slots of its own, both ids in one number drawn as the provider's random
    generator would, and is sampled by the rule of the provider's ratio sampler. It is an
    ``otlp.LightSpan``: with the OTLP exporter it is written to bytes from these slots as it ends and
    queued in ``otlp.LightSpans``; any other exporter gets the SDK's span of it (``readable``) through
    the SDK's batch processor. Its name, attributes and ``SpanContext`` are made only when asked for. It
    has no child in the gateway; the worker's spans continue its trace from the stored ``traceparent``.
    """

    __slots__ = (
        "_context",
        "_receiving",
        "_token",
        "delivery_id",
        "end_time",
        "event_id",
        "event_type",
        "extra",
        "failed",
        "ids",
        "links",
        "outcome",
        "sampled",
        "source",
        "start_time",
    )
    kind = SpanKind.SERVER

    def __init__(self, receiving: _Receiving, source: str, sender: str | None, state: str | None) -> None:
        self._receiving = receiving
        self.source = source
        self.ids = ids = receiving.new_ids()
        self.sampled = ids >> 64 & _SPAN_ID_MASK < receiving.bound  # the ratio sampler's rule
        self.delivery_id: AttributeValue | None = None
        self.event_type: AttributeValue | None = None
        self.outcome: AttributeValue | None = None
        self.event_id: AttributeValue | None = None
        self.extra: dict[str, AttributeValue] | None = None  # anything else ``record`` is given
        self.links = _sender_links(sender, state) if sender is not None else _NO_LINKS
        self.failed = False
        self._token: Token[ReceiveSpan | None] | None = None
        self._context: SpanContext | None = None
        self.start_time = time.time_ns()
        self.end_time = 0

    @property
    def name(self) -> str:
        return f"receive {self.source}"

    @property
    def trace_id(self) -> int:
        return self.ids >> 64

    @property
    def span_id(self) -> int:
        return self.ids & _SPAN_ID_MASK

    @property
    def attributes(self) -> dict[str, AttributeValue]:
        """What the span says, in this order: the source, then what the receiver recorded."""
        named: tuple[tuple[str, AttributeValue | None], ...] = (
            (SOURCE, self.source),
            (DELIVERY_ID, self.delivery_id),
            (EVENT_TYPE, self.event_type),
            (OUTCOME, self.outcome),
            (EVENT_ID, self.event_id),
        )
        attributes: dict[str, AttributeValue] = {name: value for name, value in named if value is not None}
        return {**attributes, **self.extra} if self.extra else attributes

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` of this span."""
        ids = format(self.ids, "048x")
        return f"00-{ids[:32]}-{ids[32:]}-{'01' if self.sampled else '00'}"

    @property
    def context(self) -> SpanContext:
        """Its ``SpanContext`` (what the SDK's batch processor checks is sampled)."""
        if self._context is None:
            flags = _SAMPLED if self.sampled else _NOT_SAMPLED
            self._context = SpanContext(self.ids >> 64, self.ids & _SPAN_ID_MASK, False, flags)
        return self._context

    @property
    def resource(self) -> Resource:
        return self._receiving.resource

    @property
    def instrumentation_scope(self) -> InstrumentationScope:
        return self._receiving.scope

    def record(self, attributes: Mapping[str, AttributeValue | None], failed: bool) -> None:
        for name, value in attributes.items():
            if value is None:
                continue
            if name in _NAMED:
                setattr(self, _NAMED[name], value)
            else:
                self.extra = {**(self.extra or {}), name: value}
        self.failed = self.failed or failed

    def readable(self) -> ReadableSpan:
        """The SDK's span of this one, as its tracer would have made it."""
        return self._receiving.finished(
            self.name,
            self.context,
            resource=self.resource,
            attributes=self.attributes,
            links=self.links,
            kind=self.kind,
            status=Status(StatusCode.ERROR) if self.failed else Status(),
            start_time=self.start_time,
            end_time=self.end_time,
            instrumentation_scope=self.instrumentation_scope,
        )

    def __enter__(self) -> ReceiveSpan:
        self._token = _current_receive.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """End the span: an exception leaves its outcome to what was recorded (a refusal records one)."""
        if self._token is not None:
            _current_receive.reset(self._token)
        if not self.sampled or _receiving is not self._receiving:  # not sampled, or tracing stopped since
            return
        self.end_time = time.time_ns()
        self._receiving.finish(self)


#: The receive span's slot for each attribute the receiver records.
_NAMED = {DELIVERY_ID: "delivery_id", EVENT_TYPE: "event_type", OUTCOME: "outcome", EVENT_ID: "event_id"}
_NO_LINKS: tuple[Link, ...] = ()


def receive_span(source: str, headers: Mapping[str, str]) -> ReceiveSpan:
    """A delivery's receive span, to enter for its block; tracing must be on. ``headers``: the request's,
    each name (lower case) with its first value."""
    if _receiving is None:
        raise RuntimeError("tracing is off")
    return ReceiveSpan(_receiving, source, headers.get("traceparent"), headers.get("tracestate"))


def _sender_links(traceparent: str, tracestate: str | None) -> tuple[Link, ...]:
    """A link to the sender's trace, when its ``traceparent`` is valid."""
    carrier = (
        {"traceparent": traceparent}
        if tracestate is None
        else {"traceparent": traceparent, "tracestate": tracestate}
    )
    context = trace.get_current_span(_PROPAGATOR.extract(carrier)).get_span_context()
    return (Link(context),) if context.is_valid else _NO_LINKS


def record(attributes: Mapping[str, AttributeValue | None], *, failed: bool = False) -> None:
    """Set ``attributes`` (None values are left out) on the current span; ``failed`` marks it an error."""
    receive = _current_receive.get()
    if receive is not None:
        receive.record(attributes, failed)
        return
    current = trace.get_current_span()
    current.set_attributes({name: value for name, value in attributes.items() if value is not None})
    if failed:
        current.set_status(StatusCode.ERROR)


def record_delivery(delivery_id: str | None, event_type: str | None) -> str | None:
    """Put a verified delivery's id and event type on its receive span; the ``traceparent`` to store with
    the event (what ``record`` and ``current_traceparent`` do, without a mapping on the hot path)."""
    receive = _current_receive.get()
    if receive is None:
        record({DELIVERY_ID: delivery_id, EVENT_TYPE: event_type})
        return current_traceparent()
    if delivery_id is not None:
        receive.delivery_id = delivery_id
    if event_type is not None:
        receive.event_type = event_type
    return receive.traceparent


def record_outcome(outcome: str, event_id: str | None, *, failed: bool) -> None:
    """Put a delivery's outcome (and its event's id) on its receive span, as ``record`` would."""
    receive = _current_receive.get()
    if receive is None:
        record({OUTCOME: outcome, EVENT_ID: event_id}, failed=failed)
        return
    receive.outcome = outcome
    if event_id is not None:
        receive.event_id = event_id
    receive.failed = receive.failed or failed


def context_of(traceparent: str | None) -> Context | None:
    """The context a carried ``traceparent`` names (a new trace when it is unreadable); None without one."""
    return _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None


def current_headers() -> dict[str, str]:
    """The W3C headers of the current span (``traceparent``, and ``tracestate`` when it has one)."""
    carrier: dict[str, str] = {}
    if _tracer is None:
        return carrier
    receive = _current_receive.get()
    if receive is not None:
        carrier["traceparent"] = receive.traceparent
    else:
        _PROPAGATOR.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    """The current span's ``traceparent``, to carry in a message; None when tracing is off or no span
    is current."""
    return current_headers().get("traceparent")


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, for log lines; None when there is none."""
    if _tracer is None:
        return None
    receive = _current_receive.get()
    if receive is not None:
        return format(receive.trace_id, "032x")
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
