"""The built-in HTTP forward consumer: POST the raw event on to a URL (a ``[[forward]]`` entry).

    ConsumersError
    ├── ForwardFailed      a 429/5xx without Retry-After, a connection error or a timeout: retry with backoff
    └── Reject
        └── ForwardRejected    any other non-2xx answer (3xx, 4xx) or a request that cannot be sent

A 429/5xx with a usable ``Retry-After`` raises ``RetryLater``. Messages name the method, the URL (without
userinfo or query) and the status, never a header value: headers may carry secrets. While tracing, the
request is a client span and carries that span's ``traceparent``.

With a transformation (``gateway/worker/transforms.py``) the forward sends what it returns: its body, its
headers instead of the original ones when it gives some, its path on the forward URL's host and its
method; None declines the event (``Declined``: recorded ``filtered``). A signed forward signs what it sends.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from datetime import UTC
from types import TracebackType

import httpx
from opentelemetry.trace import SpanKind
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed

import signatures
from consumers.errors import ConsumerConfigError, ConsumersError, Declined, Reject, RetryLater
from consumers.event import Event
from gateway.platform import tracing
from gateway.worker.transforms import Outgoing, Transformation

__all__ = ["ForwardFailed", "ForwardRejected", "Forwarder"]

# Meaningful for one connection only (RFC 9110 §7.6.1), or set by httpx for this request.
_HOP_BY_HOP = frozenset(
    {
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "expect",
    }
)
# How the gateway stores a credential header it verified; such a header is never forwarded.
_REDACTED = "[redacted]"
# Always reserved, even when hookgate has no value to send, so a sender cannot pose as hookgate.
_OWN_NAMES = ("X-Hookgate-Event-Id", "X-Hookgate-Source", "X-Hookgate-Event-Type", "X-Hookgate-Delivery-Id")
_ORIGINAL_PREFIX = b"x-hookgate-original-"
# Read this much of a response at most, so the connection can be reused without trusting its size.
_DRAIN_LIMIT = 64 * 1024

_Headers = list[tuple[bytes, bytes]]


class ForwardFailed(ConsumersError):
    """The target was unreachable, or answered 429/5xx without a usable Retry-After: retry with backoff."""


class ForwardRejected(Reject):
    """The target refused the event (3xx, 4xx other than 429): dead-letter it without retrying."""


class Forwarder:
    """POSTs the raw event on to a URL; callable as a consumer handler: forwarder(event)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 10,
        headers: Mapping[str, str] | None = None,
        sign_secret: str | None = None,
        client: httpx.Client | None = None,
        transform: Transformation | None = None,
    ) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise ConsumerConfigError("forward url is not a valid URL") from None
        self.url = url
        self._shown_url = str(parsed.copy_with(userinfo=b"", query=None, fragment=None))
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConsumerConfigError(f"forward url must be http(s)://host/...: {self._shown_url}")
        self._timeout = httpx.Timeout(timeout_seconds)
        self._extra = {name.lower(): (name, value) for name, value in (headers or {}).items()}
        self._signer = signatures.build("standard-webhooks", [sign_secret]) if sign_secret else None
        self._owns_client = client is None
        # httpx.Client is thread-safe and pools connections across Dramatiq's worker threads.
        self._client = client or httpx.Client(timeout=self._timeout, follow_redirects=False)
        self._transform = transform
        self._tracer = tracing.tracer()
        self._span_attributes: dict[str, str | int] = {
            "http.request.method": "POST",
            "url.full": self._shown_url,
            "server.address": parsed.host,
            "server.port": parsed.port or (443 if parsed.scheme == "https" else 80),
        }

    def __call__(self, event: Event) -> None:
        """Forward one event: return on a 2xx, raise what tells Dramatiq to retry or dead-letter otherwise.
        While tracing, the request is a client span and carries its ``traceparent``."""
        outgoing = self.outgoing(event)
        url, where = self._target(outgoing)
        if self._tracer is None:
            self._judge(where, *self._send(outgoing, url, where, self._headers(event, outgoing)))
            return
        attributes = {**self._span_attributes, "http.request.method": outgoing.method}
        with tracing.span(self._tracer, outgoing.method, kind=SpanKind.CLIENT, attributes=attributes) as span:
            headers = self._headers(event, outgoing, tracing.current_headers())
            status, retry_after = self._send(outgoing, url, where, headers)
            span.set_attribute("http.response.status_code", status)
            self._judge(where, status, retry_after)

    def outgoing(self, event: Event) -> Outgoing:
        """What is sent for ``event``: its own body, or what the transformation made of it (``Declined``
        when the transformation returned None)."""
        if self._transform is None:
            return Outgoing(event.body)
        outgoing = self._transform(event)
        if outgoing is None:
            raise Declined(f"transformation {self._transform.name} returned None")
        return outgoing

    def request(self, event: Event, outgoing: Outgoing) -> tuple[str, str, _Headers]:
        """The method, URL and headers ``outgoing`` is sent with, as ``route test`` shows them: the values
        of configured headers and of the signature (secrets, or made with one) are redacted."""
        url, _ = self._target(outgoing)
        hidden = set(self._extra) | ({"webhook-signature"} if self._signer is not None else set())
        headers = [
            (name, _REDACTED.encode() if name.decode("latin-1").lower() in hidden else value)
            for name, value in self._headers(event, outgoing)
        ]
        return outgoing.method, url, headers

    def _target(self, outgoing: Outgoing) -> tuple[str, str]:
        """The URL to send ``outgoing`` to, and how errors name the request (no userinfo or query)."""
        if outgoing.path is None:
            return self.url, f"{outgoing.method} {self._shown_url}"
        url = httpx.URL(self.url).join(outgoing.path)
        shown = url.copy_with(userinfo=b"", query=None, fragment=None)
        return str(url), f"{outgoing.method} {shown}"

    def _send(self, outgoing: Outgoing, url: str, where: str, headers: _Headers) -> tuple[int, str | None]:
        """The status and Retry-After of the target's answer; a request that fails raises what it means."""
        try:
            return _send(self._client, outgoing.method, url, outgoing.body, headers, self._timeout)
        except httpx.TimeoutException as exc:
            raise ForwardFailed(f"{where} timed out ({type(exc).__name__})") from exc
        except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
            # Not chained: h11's message quotes the offending header.
            raise ForwardRejected(f"{where} could not be sent ({type(exc).__name__}): not retried") from None
        except httpx.HTTPError as exc:
            raise ForwardFailed(f"{where} failed ({type(exc).__name__})") from exc

    @staticmethod
    def _judge(where: str, status: int, retry_after: str | None) -> None:
        """Return on a 2xx; raise what tells Dramatiq to retry or dead-letter otherwise."""
        if 200 <= status < 300:
            return
        if status == 429 or 500 <= status < 600:
            delay = _retry_after_seconds(retry_after)
            if delay is not None:
                raise RetryLater(f"{where} answered {status}, retry after {delay:g} s", delay_seconds=delay)
            raise ForwardFailed(f"{where} answered {status}")
        raise ForwardRejected(f"{where} answered {status}: not retried")

    def close(self) -> None:
        """Close the connection pool (a client passed in belongs to the caller and stays open)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Forwarder POST {self._shown_url}>"

    def _headers(self, event: Event, outgoing: Outgoing, trace: Mapping[str, str] | None = None) -> _Headers:
        """The original headers (or the transformation's) minus hop-by-hop and redacted ones, with
        hookgate's own headers added; ``trace``, while tracing, is the request's own W3C context (the
        sender's then travels on as ``X-Hookgate-Original-Traceparent``)."""
        added = {name.lower(): (name, value) for name, value in self._own_headers(event)}
        added.update(self._extra)
        if self._signer is not None:
            signed = self._signer.sign(outgoing.body, delivery_id=event.id)
            added.update({name.lower(): (name, value) for name, value in signed.items()})
        reserved = added.keys() | {name.lower() for name in _OWN_NAMES}
        if trace:
            added.update({name: (name, value) for name, value in trace.items()})
            reserved |= tracing.TRACE_HEADERS
        given = event.headers if outgoing.headers is None else list(outgoing.headers.items())
        dropped = _HOP_BY_HOP | _connection_tokens(given)
        headers: _Headers = []
        for name, value in given:
            key = name.lower()
            if key in dropped or value == _REDACTED:
                continue
            raw_name = _ORIGINAL_PREFIX + _encode(name) if key in reserved else _encode(name)
            headers.append((raw_name, _encode(value)))
        headers.extend((_encode(name), _encode(value)) for name, value in added.values())
        return headers

    @staticmethod
    def _own_headers(event: Event) -> list[tuple[str, str]]:
        own = [("X-Hookgate-Event-Id", event.id), ("X-Hookgate-Source", event.source)]
        if event.event_type:
            own.append(("X-Hookgate-Event-Type", event.event_type))
        if event.delivery_id:
            own.append(("X-Hookgate-Delivery-Id", event.delivery_id))
        own.append(("Idempotency-Key", event.idempotency_key))
        return own


# A pooled keep-alive connection the target has just closed fails at once: one quick second try.
@retry(
    retry=retry_if_exception_type(httpx.RemoteProtocolError),
    stop=stop_after_attempt(2),
    wait=wait_fixed(0.05),
    reraise=True,
)
def _send(
    client: httpx.Client, method: str, url: str, body: bytes, headers: _Headers, timeout: httpx.Timeout
) -> tuple[int, str | None]:
    """Send once; the status and Retry-After of the answer."""
    with client.stream(
        method, url, content=body, headers=headers, timeout=timeout, follow_redirects=False
    ) as response:
        _drain(response, deadline=time.monotonic() + (timeout.read or 0))
        return response.status_code, response.headers.get("retry-after")


def _drain(response: httpx.Response, *, deadline: float) -> None:
    """Read a little of the body so the connection can be reused; the answer is already known."""
    received = 0
    try:
        for chunk in response.iter_raw():
            received += len(chunk)
            if received > _DRAIN_LIMIT or time.monotonic() > deadline:
                return
    except httpx.HTTPError:
        return  # the status is in; closing the response discards the connection


def _connection_tokens(headers: list[tuple[str, str]]) -> frozenset[str]:
    """Further hop-by-hop headers the sender named in ``Connection``."""
    return frozenset(
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    )


def _encode(text: str) -> bytes:
    """Header text as it arrived: the gateway decodes header bytes as latin-1."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After of delay-seconds or an HTTP date; None when absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are always GMT
    return max(0.0, when.timestamp() - time.time())
