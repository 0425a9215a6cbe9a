"""Tracing end to end: a real gateway and worker export their spans to a local OTLP/HTTP collector, and
one event's spans, from the gateway's receive span to the forward's HTTP call, make one trace."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import redis
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from gateway.store import keys
from tests.helpers import Process, TargetServer, post, wait_for, write_config

SECRETS = {"hooks": b"hooks-secret", "tiny": b"tiny-secret"}
SENDER_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@dataclass(frozen=True)
class Exported:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attributes(pairs: list[KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


class Collector:
    """A local OTLP/HTTP collector: decodes every ``POST /v1/traces`` and keeps the spans."""

    def __init__(self) -> None:
        self.spans: list[Exported] = []
        self.paths: list[str] = []
        lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                with lock:
                    collector.paths.append(self.path)
                    for resource_spans in request.resource_spans:
                        service = _attributes(resource_spans.resource.attributes).get("service.name", "")
                        for scope_spans in resource_spans.scope_spans:
                            collector.spans.extend(
                                Exported(
                                    service,
                                    span.name,
                                    span.kind,
                                    span.trace_id.hex(),
                                    span.span_id.hex(),
                                    span.parent_span_id.hex(),
                                    _attributes(span.attributes),
                                )
                                for span in scope_spans.spans
                            )
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self._server = TargetServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def named(self, name: str) -> list[Exported]:
        return [span for span in self.spans if span.name == name]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    yield server
    server.close()


def config(tmp_path: Path, source: str, target: str, *, enabled: bool, endpoint: str) -> Path:
    return write_config(
        tmp_path,
        f"""
[[forward]]
name = "ci"
source = "{source}"
url = "{target}"
min_backoff_ms = 100
max_backoff_ms = 500

[tracing]
enabled = {json.dumps(enabled)}
endpoint = "{endpoint}"
""",
    )


def succeeded(worker: Process, consumer: str) -> list[dict[str, Any]]:
    """The worker's "consumer succeeded" log lines for ``consumer``."""
    lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"] == "consumer succeeded" and line["consumer"] == consumer]


@pytest.mark.parametrize(
    ("source", "consumers"),
    [("hooks", ["ci", "test.hooks-recorder"]), ("tiny", ["ci"])],
    ids=["fanned-out", "first-attempt-inline"],
)
def test_one_trace_from_the_gateway_to_the_forward_request_and_its_retry(
    tmp_path, redis_url, sink, collector, start_gateway, start_worker, source, consumers
):
    path = f"/{source}"
    sink.plan(path, 500)  # the first attempt fails: its retry must stay in the trace
    settings = config(tmp_path, source, sink.url(path), enabled=True, endpoint=collector.url)
    gateway = start_gateway(redis_url, config=settings)
    worker = start_worker(redis_url, config=settings)
    delivery_id = str(uuid.uuid4())
    sender = {"traceparent": SENDER_TRACEPARENT}
    event_id = post(gateway.url, source, SECRETS[source], delivery=delivery_id, headers=sender)
    wait_for(lambda: len(sink.to(path)) == 2, timeout=20, message="the failed attempt and its retry")
    wait_for(lambda: succeeded(worker, "ci"), message="the retry to succeed")
    gateway.stop()  # each process exports what is left as it shuts down
    worker.stop()

    [receive] = collector.named(f"receive {source}")
    trace_id = receive.trace_id
    assert receive.parent_id == "" and receive.service == "hookgate"
    assert receive.attributes == {
        "hookgate.source": source,
        "hookgate.delivery_id": delivery_id,
        "hookgate.event_type": "push",
        "hookgate.event_id": event_id,
        "hookgate.outcome": "accepted",
    }
    assert {span.trace_id for span in collector.spans} == {trace_id}, "one event, one trace"
    stored = redis.Redis.from_url(redis_url).hget(keys.event(event_id), "traceparent")
    assert stored is not None and stored.decode().split("-")[1:3] == [trace_id, receive.span_id]

    [dispatch] = collector.named("dispatch")
    assert (dispatch.trace_id, dispatch.parent_id) == (trace_id, receive.span_id)
    assert dispatch.attributes["hookgate.event_id"] == event_id
    assert dispatch.attributes["hookgate.consumers"] == consumers
    assert {span.parent_id for span in collector.spans if span.name.startswith("deliver ")} == {
        dispatch.span_id
    }

    attempts = sorted(collector.named("deliver ci"), key=lambda span: span.attributes["hookgate.attempt"])
    assert [(a.attributes["hookgate.attempt"], a.attributes["hookgate.outcome"]) for a in attempts] == [
        (1, "failed"),
        (2, "succeeded"),
    ]
    assert attempts[0].attributes["error.type"] == "ForwardFailed"
    for attempt in attempts:
        assert attempt.attributes["hookgate.event_id"] == event_id
        assert attempt.attributes["hookgate.consumer"] == "ci"

    requests = collector.named("POST")
    assert sorted(r.parent_id for r in requests) == sorted(a.span_id for a in attempts)
    assert sorted(r.attributes["http.response.status_code"] for r in requests) == [200, 500]
    assert {r.service for r in collector.spans} == {"hookgate"}
    assert set(collector.paths) == {"/v1/traces"}

    # What the target received: each request names its own client span, in the event's trace.
    sent = sink.to(path)
    assert sorted(r.header("traceparent").split("-")[2] for r in sent) == sorted(r.span_id for r in requests)
    assert {r.header("traceparent").split("-")[1] for r in sent} == {trace_id}
    assert {r.header("X-Hookgate-Original-Traceparent") for r in sent} == {SENDER_TRACEPARENT}

    # Log lines name the trace too.
    [line] = succeeded(worker, "ci")
    assert line["trace_id"] == trace_id


def test_tracing_off_sends_no_traceparent_and_exports_nothing(
    tmp_path, redis_url, sink, collector, start_gateway, start_worker
):
    settings = config(tmp_path, "tiny", sink.url("/tiny"), enabled=False, endpoint=collector.url)
    gateway = start_gateway(redis_url, config=settings)
    worker = start_worker(redis_url, config=settings)
    event_id = post(gateway.url, "tiny", SECRETS["tiny"])
    wait_for(lambda: sink.to("/tiny"), message="the forward request")
    gateway.stop()
    worker.stop()

    [request] = sink.to("/tiny")
    assert request.header("traceparent") is None
    assert redis.Redis.from_url(redis_url).hget(keys.event(event_id), "traceparent") is None
    assert collector.paths == [] and collector.spans == []
    assert "trace_id" not in gateway.output() + worker.output()
