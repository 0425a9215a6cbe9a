"""The HTTP forward consumer against a real local HTTP server."""

from __future__ import annotations

import base64
import email.utils
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

import signatures
from consumers import ConsumerConfigError, Event, Reject, RetryLater
from gateway.worker.forward import Forwarder, ForwardFailed, ForwardRejected

SECRET = "whsec_" + base64.b64encode(b"forward-signing-key-0123456789ab").decode()
BODY = b'{"action": "opened",  "n": 1}\r\n\x00\xff'


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


class Sink:
    """A local HTTP server that records what it receives and answers as told (200 when told nothing)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: queue.Queue[Answer] = queue.Queue()
        self.stopping = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.sink = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ci"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def answer(self, status: int = 200, headers: dict[str, str] | None = None, **options: Any) -> None:
        self.answers.put(Answer(status, headers or {}, **options))

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: nothing outlives the test
    sink: Sink

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) is expected


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5
    server: _Server

    def do_POST(self) -> None:
        sink = self.server.sink
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = [(name.lower(), value) for name, value in self.headers.items()]
        sink.received.append(Received(self.command, self.path, headers, body))
        try:
            answer = sink.answers.get_nowait()
        except queue.Empty:
            answer = Answer()
        if answer.drop:
            self.close_connection = True
            return
        if answer.delay:
            sink.stopping.wait(answer.delay)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.status != 204:
            self.send_header("Content-Length", "2")
        self.end_headers()
        if answer.status != 204:
            self.wfile.write(b"ok")

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.stop()


@pytest.fixture
def forwarders() -> Iterator[list[Forwarder]]:
    """Forwarders a test creates, closed before the sink stops."""
    made: list[Forwarder] = []
    yield made
    for forwarder in made:
        forwarder.close()


@pytest.fixture
def make(forwarders: list[Forwarder], sink: Sink):
    def make(url: str | None = None, **options: Any) -> Forwarder:
        forwarder = Forwarder(url or sink.url, **options)
        forwarders.append(forwarder)
        return forwarder

    return make


def event(headers: list[tuple[str, str]] | None = None, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "id": "evt_123",
        "source": "github",
        "event_type": "pull_request",
        "delivery_id": "d-456",
        "received_at": 1_700_000_000.0,
        "body": BODY,
        "headers": [("content-type", "application/json; charset=utf-8")] if headers is None else headers,
        "consumer": "ci",
    }
    values.update(fields)
    return Event(**values)


def test_sends_the_exact_body_and_content_type(sink, make):
    make()(event())
    [got] = sink.received
    assert (got.method, got.path, got.body) == ("POST", "/hooks/ci", BODY)
    assert got.values("content-type") == ["application/json; charset=utf-8"]
    assert got.values("content-length") == [str(len(BODY))]


def test_adds_hookgate_headers_and_idempotency_key(sink, make):
    make()(event())
    [got] = sink.received
    assert got.values("x-hookgate-event-id") == ["evt_123"]
    assert got.values("x-hookgate-source") == ["github"]
    assert got.values("x-hookgate-event-type") == ["pull_request"]
    assert got.values("x-hookgate-delivery-id") == ["d-456"]
    assert got.values("idempotency-key") == ["evt_123:ci"]


def test_unknown_event_type_and_delivery_id_are_left_out(sink, make):
    make()(event(event_type=None, delivery_id=None))
    [got] = sink.received
    assert got.values("x-hookgate-event-type") == []
    assert got.values("x-hookgate-delivery-id") == []


@dataclass(frozen=True)
class ReplayEvent(Event):
    @property
    def idempotency_key(self) -> str:
        return "forced-replay-key"


def test_uses_the_events_own_idempotency_key(sink, make):
    make()(ReplayEvent("evt_1", "github", None, None, 0.0, b"{}", [], "ci"))
    assert sink.received[0].values("idempotency-key") == ["forced-replay-key"]


def test_drops_hop_by_hop_headers_and_those_named_in_connection(sink, make):
    hop_by_hop = [
        ("host", "gateway.example"),
        ("connection", "close, x-per-hop"),
        ("x-per-hop", "gone"),
        ("content-length", "999"),
        ("transfer-encoding", "chunked"),
        ("keep-alive", "timeout=5"),
        ("proxy-connection", "keep-alive"),
        ("te", "trailers"),
        ("trailer", "x-checksum"),
        ("upgrade", "websocket"),
        ("proxy-authorization", "Basic cHJveHk6cHc="),
        ("proxy-authenticate", "Basic"),
        ("expect", "100-continue"),
    ]
    make()(event([("content-type", "application/json"), *hop_by_hop, ("x-kept", "yes")]))
    [got] = sink.received
    assert got.values("host") == [f"127.0.0.1:{sink.server.server_address[1]}"]
    assert got.values("content-length") == [str(len(BODY))]
    assert got.values("connection") != ["close, x-per-hop"]
    for name in ("x-per-hop", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"):
        assert got.values(name) == [], name
    for name in ("proxy-authorization", "proxy-authenticate", "expect", "keep-alive"):
        assert got.values(name) == [], name
    assert got.values("x-kept") == ["yes"]


def test_keeps_repeats_order_and_non_ascii_values(sink, make):
    headers = [("x-tag", "a"), ("user-agent", "GitHub-Hookshot/1"), ("x-tag", "b"), ("x-name", "caf\xe9")]
    make()(event(headers))
    [got] = sink.received
    assert got.values("x-tag") == ["a", "b"]
    assert got.values("user-agent") == ["GitHub-Hookshot/1"]
    assert got.values("x-name") == ["caf\xe9"]


def test_never_forwards_redacted_credentials(sink, make):
    make()(event([("x-gitlab-token", "[redacted]"), ("authorization", "[redacted]"), ("x-ok", "1")]))
    [got] = sink.received
    assert got.values("x-gitlab-token") == []
    assert got.values("authorization") == []
    assert "[redacted]" not in [value for _, value in got.headers]
    assert got.values("x-ok") == ["1"]


def test_colliding_original_headers_travel_as_x_hookgate_original(sink, make):
    original = [
        ("idempotency-key", "theirs"),
        ("x-hookgate-source", "spoofed"),
        ("x-hookgate-event-type", "spoofed-type"),
        ("authorization", "Basic b3JpZzpwdw=="),
        ("webhook-signature", "v1,orig"),
    ]
    make(headers={"Authorization": "Bearer configured"}, sign_secret=SECRET)(event(original, event_type=None))
    [got] = sink.received
    assert got.values("idempotency-key") == ["evt_123:ci"]
    assert got.values("x-hookgate-original-idempotency-key") == ["theirs"]
    assert got.values("x-hookgate-source") == ["github"]
    assert got.values("x-hookgate-original-x-hookgate-source") == ["spoofed"]
    assert got.values("x-hookgate-event-type") == []
    assert got.values("x-hookgate-original-x-hookgate-event-type") == ["spoofed-type"]
    assert got.values("authorization") == ["Bearer configured"]
    assert got.values("x-hookgate-original-authorization") == ["Basic b3JpZzpwdw=="]
    assert got.values("x-hookgate-original-webhook-signature") == ["v1,orig"]


def test_configured_extra_headers_are_sent(sink, make):
    make(headers={"X-Api-Key": "k-1", "X-Team": "ci"})(event())
    [got] = sink.received
    assert got.values("x-api-key") == ["k-1"]
    assert got.values("x-team") == ["ci"]


def test_signs_with_standard_webhooks_so_the_target_can_verify(sink, make):
    make(sign_secret=SECRET)(event())
    [got] = sink.received
    headers = dict(got.headers)
    signatures.verify("standard-webhooks", got.body, headers, [SECRET])
    assert headers["webhook-id"] == "evt_123"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    with pytest.raises(signatures.SignatureMismatch):
        signatures.verify("standard-webhooks", got.body + b" ", headers, [SECRET])


def test_unsigned_forward_passes_the_senders_signature_headers_unchanged(sink, make):
    make()(event([("webhook-signature", "v1,orig")]))
    assert sink.received[0].values("webhook-signature") == ["v1,orig"]


@pytest.mark.parametrize("status", [200, 202, 204])
def test_2xx_is_success(sink, make, status):
    sink.answer(status)
    assert make()(event()) is None


def test_5xx_is_retried_with_backoff(sink, make):
    sink.answer(500)
    with pytest.raises(ForwardFailed, match=r"POST http://127\.0\.0\.1:\d+/hooks/ci answered 500"):
        make()(event())


def test_503_with_retry_after_seconds_waits_that_long(sink, make):
    sink.answer(503, {"Retry-After": "7"})
    with pytest.raises(RetryLater, match="answered 503") as caught:
        make()(event())
    assert caught.value.delay_seconds == 7


def test_429_with_an_http_date_retry_after(sink, make):
    sink.answer(429, {"Retry-After": email.utils.formatdate(time.time() + 120, usegmt=True)})
    with pytest.raises(RetryLater, match="answered 429") as caught:
        make()(event())
    assert 100 < caught.value.delay_seconds <= 120


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", ""])
def test_invalid_retry_after_falls_back_to_backoff(sink, make, value):
    sink.answer(503, {"Retry-After": value})
    with pytest.raises(ForwardFailed, match="answered 503"):
        make()(event())


@pytest.mark.parametrize("status", [400, 404, 410, 302])
def test_other_statuses_are_rejected_without_retry(sink, make, status):
    sink.answer(status, {"Location": sink.url + "/elsewhere"})
    with pytest.raises(ForwardRejected, match=f"answered {status}: not retried") as caught:
        make()(event())
    assert isinstance(caught.value, Reject)
    assert len(sink.received) == 1  # the redirect was not followed


def test_connection_refused_is_retried(make):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ForwardFailed, match=rf"POST http://127\.0\.0\.1:{port}/x failed"):
        make(f"http://127.0.0.1:{port}/x")(event())


def test_a_slow_target_times_out(sink, make):
    sink.answer(200, delay=2.0)
    started = time.monotonic()
    with pytest.raises(ForwardFailed, match="timed out"):
        make(timeout_seconds=0.2)(event())
    assert time.monotonic() - started < 1.5


def test_a_dropped_connection_is_tried_once_more_at_once(sink, make):
    sink.answer(drop=True)
    make()(event())
    assert len(sink.received) == 2


def test_a_connection_dropped_twice_is_retried_later(sink, make):
    sink.answer(drop=True)
    sink.answer(drop=True)
    with pytest.raises(ForwardFailed, match="RemoteProtocolError"):
        make()(event())
    assert len(sink.received) == 2


def test_error_messages_carry_no_header_values_or_userinfo(sink, make):
    url = sink.url.replace("http://", "http://user:urlpass@") + "?token=querysecret"
    options = {"headers": {"Authorization": "Bearer cfgsecret"}, "sign_secret": SECRET}
    forward, slow = make(url, **options), make(url, timeout_seconds=0.2, **options)
    secret_event = event([("x-secret", "origsecret"), ("content-type", "application/json")])
    sink.answer(500)
    sink.answer(400)
    sink.answer(503, {"Retry-After": "3"})
    sink.answer(200, delay=2.0)
    failures = []
    for forwarder in (forward, forward, forward, slow):
        with pytest.raises((ForwardFailed, ForwardRejected, RetryLater)) as caught:
            forwarder(secret_event)
        failures.append(caught.value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ForwardFailed) as caught:
        make(f"http://user:urlpass@127.0.0.1:{port}/x", headers={"Authorization": "Bearer cfgsecret"})(
            secret_event
        )
    failures.append(caught.value)
    for failure in failures:
        text = " | ".join(_messages(failure))
        for secret in ("urlpass", "querysecret", "cfgsecret", "origsecret", "whsec_", "v1,"):
            assert secret not in text, (secret, text)
        assert "user:" not in str(failure)


def _messages(error: BaseException | None) -> Iterator[str]:
    """The messages of an exception and of everything chained to it, as a log line would show them."""
    while error is not None:
        yield f"{type(error).__name__}: {error}"
        error = error.__cause__ or error.__context__


def test_is_safe_to_share_between_worker_threads(sink, make):
    forward = make()
    threads = [threading.Thread(target=forward, args=(event(id=f"evt_{n}"),)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.values("x-hookgate-event-id")[0] for r in sink.received) == [f"evt_{n}" for n in range(8)]


def test_a_client_passed_in_stays_open(sink):
    with httpx.Client() as client:
        Forwarder(sink.url, client=client).close()
        assert not client.is_closed


def test_a_bad_url_or_secret_is_refused_at_start_up():
    with pytest.raises(ConsumerConfigError, match=r"http\(s\)://host"):
        Forwarder("ftp://user:pw@example.com/x")
    with pytest.raises(signatures.ConfigurationError, match="whsec_"):
        Forwarder("http://127.0.0.1/x", sign_secret="not base64!")
