"""Tracing in-process (SDK's in-memory exporter, fakeredis): the receive span, the context stored with the
event and carried in its dispatch message, the forward's traceparent, log lines; and nothing when off."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable, Iterator

import fakeredis
import httpx
import pytest
import structlog
from dramatiq import Message
from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import SpanKind

from consumers import Event
from gateway.config import RetentionSettings, Settings, TracingSettings
from gateway.platform import logs, tracing
from gateway.processes.app import create_app
from gateway.store import keys
from gateway.store.ingest import Incoming, Ingestor
from gateway.worker.forward import Forwarder
from tests.helpers import github_signature
from tests.integration.sink import Sink

SECRET = "It's a Secret to Everybody"
SENDER_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

Spans = Callable[[], list[ReadableSpan]]


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def spans() -> Iterator[Spans]:
    """Tracing on for the test; a call turns it off and returns every span it made."""
    exporter = InMemorySpanExporter()
    assert tracing.start(TracingSettings(enabled=True), exporter=exporter)

    def finished() -> list[ReadableSpan]:
        tracing.stop()  # exports what the batch still holds
        return list(exporter.get_finished_spans())

    yield finished
    tracing.stop()


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def redis_client(server: fakeredis.FakeServer) -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=server)


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Hub-Signature-256": github_signature(body, secret),
        "X-GitHub-Delivery": "abc",
        "X-GitHub-Event": "push",
    }


def post(redis_client: fakeredis.FakeAsyncRedis, body: bytes, headers: dict[str, str]) -> httpx.Response:
    settings = Settings.model_validate(
        {
            "redis": {"url": "redis://unused:1/0"},
            "sources": {"github": {"provider": "github", "secret": SECRET}},
        }
    )
    with TestClient(create_app(settings, client=redis_client)) as client:
        return client.post("/webhooks/github", content=body, headers=headers)


def stored(server: fakeredis.FakeServer, event_id: str) -> tuple[dict[bytes, bytes], bytes]:
    """The event's hash and its raw dispatch message."""
    client = fakeredis.FakeRedis(server=server)
    return client.hgetall(keys.event(event_id)), client.hget(
        keys.dramatiq_messages(keys.DISPATCH_QUEUE), event_id
    )


def traceparent_of(span: ReadableSpan) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def test_the_receive_span_says_what_happened_to_the_delivery(spans, redis_client):
    body = b'{"hello": "world"}'
    first = post(redis_client, body, sign(body) | {"traceparent": SENDER_TRACEPARENT})
    again = post(redis_client, body, sign(body))
    refused = post(redis_client, body, sign(body, "wrong secret"))
    assert (first.status_code, again.status_code, refused.status_code) == (202, 200, 401)

    accepted, duplicate, rejected = spans()
    assert accepted.name == "receive github" and accepted.kind is SpanKind.SERVER
    assert dict(accepted.attributes or {}) == {
        "hookgate.source": "github",
        "hookgate.delivery_id": "abc",
        "hookgate.event_type": "push",
        "hookgate.event_id": first.json()["event_id"],
        "hookgate.outcome": "accepted",
    }
    assert accepted.parent is None, "a sender never chooses hookgate's trace"
    [link] = accepted.links
    assert f"{link.context.trace_id:032x}" == SENDER_TRACEPARENT.split("-")[1]
    assert duplicate.attributes["hookgate.outcome"] == "duplicate"
    assert duplicate.attributes["hookgate.event_id"] == first.json()["event_id"]
    assert rejected.attributes["hookgate.outcome"] == "rejected_signature"
    assert "hookgate.event_id" not in rejected.attributes
    assert all(not span.links for span in (duplicate, rejected))
    for span in (accepted, duplicate, rejected):
        assert body.decode() not in json.dumps(dict(span.attributes or {}))


def test_when_on_the_traceparent_is_stored_with_the_event_and_carried_by_its_dispatch_message(
    spans, server, redis_client
):
    body = b'{"n": 1}'
    event_id = post(redis_client, body, sign(body)).json()["event_id"]
    fields, raw = stored(server, event_id)

    [receive] = spans()
    traceparent = traceparent_of(receive)
    assert fields[b"traceparent"] == traceparent.encode()
    message = Message.decode(raw)
    assert message.options == {"redis_message_id": event_id, "traceparent": traceparent}
    assert message.args == (event_id, "github", "push")


@pytest.mark.parametrize("ratio", [0.0, 0.5])
def test_a_delivery_outside_the_sample_carries_an_unsampled_context_and_exports_no_span(
    ratio, server, redis_client
):
    exporter = InMemorySpanExporter()
    assert tracing.start(TracingSettings(enabled=True, sample_ratio=ratio), exporter=exporter)
    settings = Settings.model_validate(
        {
            "redis": {"url": "redis://unused:1/0"},
            "sources": {"github": {"provider": "github", "secret": SECRET}},
        }
    )
    try:
        with TestClient(create_app(settings, client=redis_client)) as client:
            bodies = [f'{{"n": {n}}}'.encode() for n in range(40)]
            event_ids = [
                client.post(
                    "/webhooks/github",
                    content=body,
                    headers=sign(body) | {"X-GitHub-Delivery": body.decode()},
                ).json()["event_id"]
                for body in bodies
            ]
    finally:
        tracing.stop()

    stored_contexts = {stored(server, event_id)[0][b"traceparent"].decode() for event_id in event_ids}
    assert len(stored_contexts) == 40, "every delivery has a trace of its own, sampled or not"
    sampled = {context for context in stored_contexts if context.endswith("-01")}
    exported = {traceparent_of(span) for span in exporter.get_finished_spans()}
    assert exported == sampled, "exactly the sampled deliveries' spans are exported"
    if ratio == 0.0:
        assert not exported
    else:
        assert 0 < len(exported) < 40
    oracle = TraceIdRatioBased(ratio)  # the SDK's sampler decides each trace as it would
    for context in stored_contexts:
        trace_id = int(context.split("-")[1], 16)
        decision = oracle.should_sample(None, trace_id, "receive github", SpanKind.SERVER)
        assert decision.decision.is_sampled() == context.endswith("-01")


async def test_when_off_the_script_gets_todays_arguments_and_writes_todays_message(server, redis_client):
    assert tracing.tracer() is None
    ingestor = Ingestor(redis_client, RetentionSettings(), timeout=1.0)
    script, calls = ingestor._script, []

    async def recording(*, keys: list[str], args: list[object]) -> object:
        calls.append(args)
        return await script(keys=keys, args=args)

    ingestor._script = recording
    result = await ingestor.put_if_new(
        Incoming("github", b"{}", [("traceparent", SENDER_TRACEPARENT)], "d", "push")
    )

    [args] = calls
    assert len(args) == 9 and args[8] == "", "the query string (none), and no traceparent"
    fields, raw = stored(server, result.event_id)
    assert b"traceparent" not in fields
    received_ms = json.loads(raw)["message_timestamp"]
    event_id = result.event_id
    assert (
        raw
        == (
            f'{{"queue_name":"dispatch","actor_name":"dispatch","args":["{event_id}","github","push"],'
            f'"kwargs":{{}},"options":{{"redis_message_id":"{event_id}"}},"message_id":"{event_id}",'
            f'"message_timestamp":{received_ms}}}'
        ).encode()
    )


def test_when_off_a_delivery_is_stored_without_a_trace(server, redis_client):
    body = b'{"n": 2}'
    event_id = post(redis_client, body, sign(body)).json()["event_id"]
    fields, raw = stored(server, event_id)
    assert b"traceparent" not in fields
    assert Message.decode(raw).options == {"redis_message_id": event_id}


@pytest.mark.parametrize(
    ("variables", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_the_standard_variables_turn_tracing_on(monkeypatch, variables, on):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert tracing.enabled(TracingSettings()) is on
    assert tracing.enabled(TracingSettings(enabled=True)) is ("OTEL_SDK_DISABLED" not in variables)


@pytest.mark.parametrize(
    ("endpoint", "variable", "exported_to"),
    [
        (None, None, "http://127.0.0.1:4318/v1/traces"),
        ("http://collector:4318", None, "http://collector:4318/v1/traces"),
        ("https://collector/otlp/v1/traces", None, "https://collector/otlp/v1/traces"),
        ("http://collector:4318/", "http://other:4318", "http://collector:4318/v1/traces"),
        (None, "http://other:4318", None),  # the exporter reads the standard variables itself
    ],
)
def test_the_endpoint_is_the_setting_else_the_standard_variables_else_the_local_default(
    monkeypatch, endpoint, variable, exported_to
):
    if variable:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", variable)
    assert tracing._endpoint(TracingSettings(endpoint=endpoint)) == exported_to


def forward(forwarder: Forwarder, headers: list[tuple[str, str]]) -> None:
    forwarder(Event("evt_1", "github", "push", "d-1", 0.0, b"{}", headers, consumer="ci"))


def test_the_forward_request_carries_its_client_span_and_the_senders_context_travels_on_renamed(spans):
    sink = Sink()
    try:
        with Forwarder(sink.url("/ci")) as forwarder:
            forward(forwarder, [("traceparent", SENDER_TRACEPARENT), ("tracestate", "vendor=1")])
        [request] = sink.to("/ci")
    finally:
        sink.close()

    [client] = spans()
    assert client.name == "POST" and client.kind is SpanKind.CLIENT
    assert client.attributes["http.response.status_code"] == 200
    assert client.attributes["url.full"] == sink.url("/ci")
    assert request.header("traceparent") == traceparent_of(client)
    assert request.header("tracestate") is None
    assert request.header("X-Hookgate-Original-Traceparent") == SENDER_TRACEPARENT
    assert request.header("X-Hookgate-Original-Tracestate") == "vendor=1"


def test_when_off_the_forward_passes_the_senders_traceparent_as_it_came():
    sink = Sink()
    try:
        with Forwarder(sink.url("/ci")) as forwarder:
            forward(forwarder, [("traceparent", SENDER_TRACEPARENT)])
        [request] = sink.to("/ci")
    finally:
        sink.close()
    assert request.header("traceparent") == SENDER_TRACEPARENT
    assert request.header("X-Hookgate-Original-Traceparent") is None


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, object]]]]:
    """hookgate's JSON log set-up, writing to memory; the lines written so far. The global logging
    set-up is put back afterwards, and no logger keeps this one (nothing is cached meanwhile)."""
    stream = io.TextIOWrapper(io.BytesIO(), write_through=True)
    monkeypatch.setattr(sys, "stderr", stream)
    saved = structlog.get_config()
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq")
    loggers = [logging.getLogger(name) for name in names]
    kept = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    worker_thread = logging.getLogger("dramatiq.worker.WorkerThread")
    filters = worker_thread.filters[:]
    logs.configure("json", "info")
    structlog.configure(cache_logger_on_first_use=False)

    def lines() -> list[dict[str, object]]:
        return [json.loads(line) for line in stream.buffer.getvalue().splitlines()]

    yield lines
    structlog.configure(**saved)
    for logger, (handlers, level, propagate) in zip(loggers, kept, strict=True):
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate
    worker_thread.filters[:] = filters


def test_log_lines_carry_the_trace_id_while_a_span_is_current(spans, json_logs, redis_client):
    body = b'{"n": 3}'
    post(redis_client, body, sign(body))
    tracer = tracing.tracer()
    assert tracer is not None
    with tracing.span(tracer, "work"):
        structlog.get_logger("test").warning("inside")
        logging.getLogger("dramatiq.test").warning("a stdlib line inside")
    structlog.get_logger("test").warning("outside")

    receive, work = spans()
    lines = {line["event"]: line for line in json_logs()}
    assert lines["event stored and enqueued"]["trace_id"] == f"{receive.context.trace_id:032x}"
    assert lines["inside"]["trace_id"] == f"{work.context.trace_id:032x}"
    assert lines["a stdlib line inside"]["trace_id"] == f"{work.context.trace_id:032x}"
    assert "trace_id" not in lines["outside"]


def test_when_off_log_lines_have_no_trace_id(json_logs, redis_client):
    body = b'{"n": 4}'
    post(redis_client, body, sign(body))
    [line] = [line for line in json_logs() if line["event"] == "event stored and enqueued"]
    assert "trace_id" not in line
