"""OpenTelemetry tracing: one trace per event, from the receiving gateway to the forward's HTTP call.

Off unless ``[tracing] enabled`` or the standard ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`` variable says
otherwise; ``start`` then installs this process's tracer, exporting over OTLP/HTTP in batches. The
instrumented code checks ``tracer()`` once, when it is built: with tracing off no span is ever made.

The context travels as a W3C ``traceparent``: stored with the event, carried in the Dramatiq messages'
options (dispatch, deliver, and so every retry) and sent on in the forward request.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

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

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def enabled(settings: TracingSettings) -> bool:
    """On by ``[tracing] enabled`` or a standard OTLP endpoint variable, unless ``OTEL_SDK_DISABLED``."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return settings.enabled or any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)


def start(settings: TracingSettings, *, exporter: SpanExporter | None = None) -> bool:
    """Install this process's tracer when ``settings`` turn tracing on (OTLP/HTTP unless ``exporter`` is
    given); whether they did. The SDK is imported only then."""
    global _provider, _tracer
    stop()  # a second start replaces the first
    if not enabled(settings):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
        resource=Resource.create({SERVICE_NAME: settings.service_name}),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter(_endpoint(settings))))
    _provider, _tracer = provider, provider.get_tracer("hookgate")
    return True


def stop() -> None:
    """Export the spans still waiting and turn tracing off."""
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None


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


@contextmanager
def receive_span(tracer: Tracer, source: str, headers: list[tuple[str, str]]) -> Iterator[Span]:
    """The gateway's span for one delivery: always a new trace, as senders are not trusted to choose our
    trace ids or sampling; a sender's own ``traceparent`` becomes a link."""
    with tracer.start_as_current_span(
        f"receive {source}",
        kind=SpanKind.SERVER,
        attributes={SOURCE: source},
        links=_sender_links(headers),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        yield current


def _sender_links(headers: list[tuple[str, str]]) -> list[Link]:
    """A link to the sender's trace, when its request carried a valid ``traceparent``."""
    carrier = {name: value for name, value in headers if name in TRACE_HEADERS}
    if "traceparent" not in carrier:
        return []
    context = trace.get_current_span(_PROPAGATOR.extract(carrier)).get_span_context()
    return [Link(context)] if context.is_valid else []


def record(attributes: Mapping[str, AttributeValue | None], *, failed: bool = False) -> None:
    """Set ``attributes`` (None values are left out) on the current span; ``failed`` marks it an error."""
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
    if _tracer is not None:
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
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
