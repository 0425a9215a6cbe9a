"""The OTLP encoding (``gateway/platform/otlp.py``) against its oracle, the SDK's encoder: any batch of
spans encodes to the same bytes; and the exporter sends them to a collector as the SDK's would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from opentelemetry.util.types import AttributeValue

from gateway.config import TracingSettings
from gateway.platform import tracing
from gateway.platform.otlp import LightSpans, OTLPSpanExporter, encode_spans
from gateway.platform.tracing import ReceiveSpan

RESOURCES = [
    Resource.create({"service.name": "hookgate"}),
    Resource(
        {"service.name": "other", "host.cores": 2}, schema_url="https://opentelemetry.io/schemas/1.21.0"
    ),
]
SCOPES = [
    None,
    InstrumentationScope("hookgate"),
    InstrumentationScope("lib", "1.2", "https://opentelemetry.io/schemas/1.21.0", {"a": "b"}),
]

scalars = st.one_of(
    st.text(max_size=200),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
)
values = st.one_of(
    scalars,
    scalars,
    scalars,  # mostly what the encoder writes itself; the rest it leaves to the SDK
    st.binary(max_size=20),
    st.lists(st.text(max_size=10), max_size=3),
    st.none(),
)
attributes = st.dictionaries(st.text(max_size=30), values, max_size=6)
# What a receive span is given: mostly the attributes the receiver records, in any order and of any
# size (a long one is written by the general path), with others among them.
recorded = st.dictionaries(
    st.one_of(
        st.sampled_from(
            [tracing.DELIVERY_ID, tracing.EVENT_TYPE, tracing.OUTCOME, tracing.EVENT_ID, tracing.SOURCE]
        ),
        st.text(max_size=30),
    ),
    st.one_of(st.text(max_size=200), values),
    max_size=6,
)
trace_ids = st.integers(min_value=1, max_value=2**128 - 1)
span_ids = st.integers(min_value=1, max_value=2**64 - 1)
trace_states = st.sampled_from([TraceState(), TraceState([("vendor", "value")])])
contexts = st.builds(
    SpanContext,
    trace_id=trace_ids,
    span_id=span_ids,
    is_remote=st.booleans(),
    trace_flags=st.sampled_from([TraceFlags(0), TraceFlags(1)]),
    trace_state=trace_states,
)
links = st.builds(Link, contexts, st.one_of(st.none(), attributes))
events = st.builds(Event, st.text(max_size=10), attributes, st.integers(min_value=0, max_value=2**63))
statuses = st.one_of(
    st.just(Status()),
    st.just(Status(StatusCode.OK)),
    st.builds(Status, st.just(StatusCode.ERROR), st.one_of(st.none(), st.text(max_size=20))),
)
times = st.one_of(st.none(), st.integers(min_value=0, max_value=2**64 - 1))


@st.composite
def spans(draw: st.DrawFn) -> ReadableSpan:
    return ReadableSpan(
        name=draw(st.text(max_size=40)),
        context=draw(contexts),
        parent=draw(st.one_of(st.none(), contexts)),
        resource=draw(st.sampled_from(RESOURCES)),
        attributes=draw(attributes),
        events=draw(st.lists(events, max_size=2)) if draw(st.booleans()) else (),
        links=draw(st.lists(links, max_size=2)),
        kind=draw(st.sampled_from(list(SpanKind))),
        status=draw(statuses),
        start_time=draw(times),
        end_time=draw(times),
        instrumentation_scope=draw(st.sampled_from(SCOPES)),
    )


@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans(), max_size=6))
def test_any_batch_encodes_to_the_bytes_the_sdk_makes(batch: list[ReadableSpan]) -> None:
    expected = sdk_encode_spans(batch)
    ours = encode_spans(batch)
    assert ExportTraceServiceRequest.FromString(ours) == expected
    assert ours == expected.SerializeToString()


def receive_span(attributes: dict[str, object], *, link: bool) -> ReadableSpan:
    """A span shaped like the gateway's: the case the encoder writes itself."""
    sender = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True, TraceFlags(1))
    return ReadableSpan(
        "receive github",
        SpanContext(2**127 + 5, 2**63 + 7, False, TraceFlags(1)),
        None,
        RESOURCES[0],
        attributes,
        (),
        [Link(sender)] if link else [],
        SpanKind.SERVER,
        None,
        Status(StatusCode.ERROR) if "failed" in attributes else Status(),
        1_700_000_000_000_000_000,
        1_700_000_000_000_250_000,
        SCOPES[1],
    )


@contextmanager
def receiving() -> Iterator[None]:
    """Tracing on, exporting to memory, for the block."""
    assert tracing.start(TracingSettings(enabled=True), exporter=InMemorySpanExporter())
    try:
        yield
    finally:
        tracing.stop()


def gateway_span(attributes: dict[str, AttributeValue | None], failed: bool, headers: dict[str, str]):
    """A receive span the gateway makes (a light span) with what ``attributes`` record."""
    with receiving(), tracing.receive_span("github", headers) as span:
        tracing.record(attributes, failed=failed)
    return span


SENDER_HEADERS: list[dict[str, str]] = [
    {},
    {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "vendor=value",
    },
]


@settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(recorded, st.booleans(), st.sampled_from(SENDER_HEADERS)), min_size=1, max_size=3),
    st.lists(spans(), max_size=2),
)
def test_the_gateway_s_receive_spans_encode_as_their_sdk_spans_do(
    made: list[tuple[dict[str, AttributeValue | None], bool, dict[str, str]]],
    others: list[ReadableSpan],
) -> None:
    light = [gateway_span(*arguments) for arguments in made]
    assert all(span.end_time for span in light)
    batch = [*light, *others]
    expected = sdk_encode_spans(
        [span if isinstance(span, ReadableSpan) else span.readable() for span in batch]
    )
    assert encode_spans(batch) == expected.SerializeToString()


@pytest.mark.parametrize("headers", SENDER_HEADERS)
def test_the_gateway_s_receive_span_is_written_without_the_sdk_s_objects(
    headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.platform import otlp

    def refuse(span: ReadableSpan) -> None:
        raise AssertionError("a plain span went to the SDK's encoder")

    batch = [
        gateway_span({"hookgate.delivery_id": "d-1", "hookgate.outcome": "accepted"}, False, headers),
        gateway_span({"hookgate.event_id": "e" * 200, "hookgate.event_type": 7}, False, headers),
        gateway_span(
            {"hookgate.outcome": "unavailable", "n": -3, "x": 0.5, "long": "x" * 300}, True, headers
        ),
    ]
    expected = sdk_encode_spans([span.readable() for span in batch]).SerializeToString()
    monkeypatch.setattr(otlp, "_encode_span", refuse)
    monkeypatch.setattr(ReceiveSpan, "readable", refuse)
    assert encode_spans(batch) == expected


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A local OTLP/HTTP endpoint keeping each request's path, content type and body."""
    received: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((self.path, self.headers["content-type"], body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received
    server.shutdown()
    server.server_close()


def test_the_exporter_posts_the_encoded_request_as_the_sdk_s_exporter_does(collector) -> None:
    endpoint, received = collector
    batch = [receive_span({"hookgate.source": "github"}, link=True), receive_span({}, link=False)]
    exporter = OTLPSpanExporter(endpoint)
    assert exporter.export(batch) is SpanExportResult.SUCCESS
    exporter.shutdown()
    [(path, content_type, body)] = received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert ExportTraceServiceRequest.FromString(body) == sdk_encode_spans(batch)


def test_a_collector_that_is_not_there_fails_the_export_without_raising() -> None:
    exporter = OTLPSpanExporter("http://127.0.0.1:9/v1/traces", timeout=0.5)
    assert exporter.export([receive_span({}, link=False)]) is SpanExportResult.FAILURE
    exporter.shutdown()


# The queue of light spans (``LightSpans``): what the gateway's receive spans go through.


def ended_spans(count: int, start: int = 0) -> list[ReceiveSpan]:
    """``count`` ended receive spans, each with its delivery id, made while tracing is on."""
    made = []
    with receiving():
        for number in range(start, start + count):
            with tracing.receive_span("github", {}) as span:
                tracing.record_delivery(f"d-{number}", "push")
                tracing.record_outcome("accepted", f"e-{number}", failed=False)
            made.append(span)
    return made


def delivery_ids(bodies: list[bytes]) -> list[list[str]]:
    """Each request's spans' delivery ids, in the order sent."""
    return [
        [
            next(a.value.string_value for a in span.attributes if a.key == tracing.DELIVERY_ID)
            for resource in ExportTraceServiceRequest.FromString(body).resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        for body in bodies
    ]


def light_spans(endpoint: str, monkeypatch: pytest.MonkeyPatch, **variables: str) -> LightSpans:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return LightSpans(OTLPSpanExporter(endpoint), RESOURCES[0], SCOPES[1])


def test_light_spans_go_as_the_sdk_would_send_them_in_whole_batches(collector, monkeypatch) -> None:
    endpoint, received = collector
    queue = light_spans(
        endpoint, monkeypatch, OTEL_BSP_MAX_EXPORT_BATCH_SIZE="3", OTEL_BSP_SCHEDULE_DELAY="60000"
    )
    spans = ended_spans(7)
    for span in spans:
        queue.add(span)
    wait_for_requests(received, 2)  # a full batch wakes the thread; it sends whole batches only
    time.sleep(0.3)  # and the seventh waits for a batch or the delay
    assert delivery_ids([body for _, _, body in received]) == [["d-0", "d-1", "d-2"], ["d-3", "d-4", "d-5"]]
    queue.shutdown()  # and the rest on the way out
    assert delivery_ids([body for _, _, body in received])[2:] == [["d-6"]]
    for (path, content_type, body), batch in zip(received, [spans[0:3], spans[3:6], spans[6:]], strict=True):
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        assert body == sdk_encode_spans([span.readable() for span in batch]).SerializeToString()


def test_light_spans_that_fill_no_batch_go_at_the_schedule_delay(collector, monkeypatch) -> None:
    endpoint, received = collector
    queue = light_spans(endpoint, monkeypatch, OTEL_BSP_SCHEDULE_DELAY="100")
    for span in ended_spans(2):
        queue.add(span)
    wait_for_requests(received, 1)
    assert delivery_ids([body for _, _, body in received]) == [["d-0", "d-1"]]
    queue.shutdown()


def test_a_full_light_span_queue_drops_its_oldest_and_says_so(collector, monkeypatch, caplog) -> None:
    endpoint, received = collector
    queue = light_spans(
        endpoint,
        monkeypatch,
        OTEL_BSP_MAX_QUEUE_SIZE="4",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="4",
        OTEL_BSP_SCHEDULE_DELAY="60000",
    )
    with queue._exporting:  # the thread cannot send while the spans come in
        for span in ended_spans(6):
            queue.add(span)
    queue.shutdown()
    sent = [number for request in delivery_ids([body for _, _, body in received]) for number in request]
    assert sent == ["d-2", "d-3", "d-4", "d-5"]
    assert "Dropped 2 spans: the export queue was full" in caplog.text


def test_a_failed_light_span_export_leaves_the_thread_sending(monkeypatch, caplog) -> None:
    queue = light_spans(
        "http://127.0.0.1:9/v1/traces",
        monkeypatch,
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="1",
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="0.5",
    )
    sent: list[int] = []
    monkeypatch.setattr(queue._exporter, "send", lambda request, count: sent.append(count) or 1 / 0)
    for number, span in enumerate(ended_spans(2), start=1):
        queue.add(span)
        wait_for(lambda: len(sent) == number)  # noqa: B023 (this span's export)
    queue.shutdown()
    assert sent == [1, 1]
    assert "Exception while exporting Span." in caplog.text


def test_a_span_no_encoder_can_write_is_dropped_alone_and_said(collector, monkeypatch, caplog) -> None:
    endpoint, received = collector
    queue = light_spans(endpoint, monkeypatch, OTEL_BSP_SCHEDULE_DELAY="60000")
    bad, good = ended_spans(2)
    bad.delivery_id = "\ud800"  # a lone surrogate, as a JSON body can carry: no UTF-8 for it
    queue.add(bad)  # does not raise: the span ends in the request's path
    queue.add(good)
    queue.shutdown()
    assert delivery_ids([body for _, _, body in received]) == [["d-1"]]
    assert "Dropped 1 spans that could not be encoded" in caplog.text


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_an_unreadable_batch_setting_is_named_and_the_default_used(value, monkeypatch, caplog) -> None:
    queue = light_spans("http://127.0.0.1:9/v1/traces", monkeypatch, OTEL_BSP_MAX_EXPORT_BATCH_SIZE=value)
    queue.shutdown()
    assert queue._batch == 2048
    assert f"OTEL_BSP_MAX_EXPORT_BATCH_SIZE={value!r} is not a positive whole number" in caplog.text


def wait_for_requests(received: list[tuple[str, str, bytes]], count: int) -> None:
    wait_for(lambda: len(received) >= count)


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
