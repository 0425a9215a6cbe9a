"""OpenTelemetry tracing: one trace per event, from the receiving gateway to the forward's HTTP call.

Off unless ``[tracing] enabled`` or the standard ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`` variable says
otherwise; ``start`` then installs this process's tracer, exporting over OTLP/HTTP in batches. The
instrumented code checks ``tracer()`` once, when it is built: with tracing off no span is ever made.

The context travels as a W3C ``traceparent``: stored with the event, carried in the Dramatiq messages'
options (dispatch, deliver, and so every retry) and sent on in the forward request.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
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
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
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
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from gateway.platform.otlp import OTLPSpanExporter, ReadableSpans

    sampler = TraceIdRatioBased(settings.sample_ratio)
    provider = TracerProvider(
        sampler=ParentBased(sampler),
        resource=Resource.create({SERVICE_NAME: settings.service_name}),
    )
    # Receive spans reach the exporter as they are: ours writes them itself, any other gets the SDK's.
    processor = BatchSpanProcessor(
        ReadableSpans(exporter) if exporter else OTLPSpanExporter(_endpoint(settings))
    )
    provider.add_span_processor(processor)
    _provider, _tracer = provider, provider.get_tracer("hookgate")
    _receiving = _Receiving(
        provider,
        processor,
        provider.resource,
        InstrumentationScope("hookgate"),
        sampler,
        ReadableSpan,
    )
    return True


def stop() -> None:
    """Export the spans still waiting and turn tracing off."""
    global _provider, _tracer, _receiving
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
    processor: SpanProcessor
    resource: Resource
    scope: InstrumentationScope
    sampler: TraceIdRatioBased  # the provider's for a root span, as a receive span always is
    finished: type[ReadableSpan]  # the SDK's, imported by ``start`` with the rest of it


class ReceiveSpan:
    """The gateway's span for one delivery, current while the block runs (for ``record``, the
    ``traceparent`` stored with the event, log lines). Always a new trace: senders are not trusted to
    choose our trace ids or sampling, so a sender's own ``traceparent`` becomes a link.

    The receive path makes one per request, and the SDK's span costs ~30 µs to start, annotate and end
    (locks, bounded attributes, context attach and detach, then a ``ReadableSpan``): this one keeps its
    fields in slots, takes its ids from the provider's generator, is sampled by the rule of the
    provider's ratio sampler, and goes to the SDK's batch processor as it is, an ``otlp.LightSpan`` that
    the OTLP exporter writes from these fields (``readable`` makes it the SDK's span for any other
    exporter). It has no child in the gateway; the worker's spans continue its trace from the stored
    ``traceparent``.
    """

    __slots__ = (
        "_context",
        "_receiving",
        "_token",
        "attributes",
        "end_time",
        "failed",
        "links",
        "name",
        "sampled",
        "span_id",
        "start_time",
        "trace_id",
    )
    kind = SpanKind.SERVER

    def __init__(self, receiving: _Receiving, source: str, headers: list[tuple[str, str]]) -> None:
        ids = receiving.provider.id_generator
        self._receiving = receiving
        self.name = f"receive {source}"
        self.attributes: dict[str, AttributeValue] = {SOURCE: source}
        self.links = _sender_links(headers)
        self.trace_id = ids.generate_trace_id()
        self.span_id = ids.generate_span_id()
        # The sampler's own rule (its ``should_sample`` builds a result and looks up a parent: ~1.5 µs).
        sampler = receiving.sampler
        self.sampled = self.trace_id & sampler.TRACE_ID_LIMIT < sampler.bound
        self.failed = False
        self._token: Token[ReceiveSpan | None] | None = None
        self._context: SpanContext | None = None
        self.start_time = time.time_ns()
        self.end_time = 0

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` of this span."""
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{'01' if self.sampled else '00'}"

    @property
    def context(self) -> SpanContext:
        """Its ``SpanContext`` (what the batch processor checks is sampled)."""
        if self._context is None:
            flags = _SAMPLED if self.sampled else _NOT_SAMPLED
            self._context = SpanContext(self.trace_id, self.span_id, False, flags)
        return self._context

    @property
    def resource(self) -> Resource:
        return self._receiving.resource

    @property
    def instrumentation_scope(self) -> InstrumentationScope:
        return self._receiving.scope

    def record(self, attributes: Mapping[str, AttributeValue | None], failed: bool) -> None:
        kept = self.attributes
        for name, value in attributes.items():
            if value is not None:
                kept[name] = value
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
        # The batch processor reads only ``context``; its exporter takes light spans (``start``).
        self._receiving.processor.on_end(self)  # type: ignore[arg-type]


def receive_span(source: str, headers: list[tuple[str, str]]) -> ReceiveSpan:
    """A delivery's receive span, to enter for its block; tracing must be on."""
    if _receiving is None:
        raise RuntimeError("tracing is off")
    return ReceiveSpan(_receiving, source, headers)


def _sender_links(headers: list[tuple[str, str]]) -> list[Link]:
    """A link to the sender's trace, when its request carried a valid ``traceparent``."""
    carrier = {name: value for name, value in headers if name in TRACE_HEADERS}
    if "traceparent" not in carrier:
        return []
    context = trace.get_current_span(_PROPAGATOR.extract(carrier)).get_span_context()
    return [Link(context)] if context.is_valid else []


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
