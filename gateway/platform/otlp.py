"""OTLP/HTTP span export with a cheaper encoding: the same ``ExportTraceServiceRequest`` the SDK's encoder
makes, written as protobuf bytes directly.

The SDK builds a protobuf object per span, per attribute and per value (~23 µs a span here), on a thread
of the process that made the spans: in the gateway that thread takes the GIL from the event loop once per
request. Written field by field, a span like ours costs a few microseconds. A span this encoder does not
cover (events, non-scalar or out-of-range attribute values, a link with attributes) is encoded by the
SDK's own code, so every span leaves as the SDK would send it; ``tests/gateway/test_otlp.py`` holds the
two encodings equal. The gateway's receive span is a ``LightSpan``, not the SDK's: it is written from its
own fields when it ends and waits in ``LightSpans`` as bytes (``ReadableSpans`` turns it into the SDK's
span for any other exporter). The exporter is the SDK's OTLP/HTTP one (endpoint, headers, TLS,
compression, retries and the ``OTEL_EXPORTER_OTLP_*`` variables), given these bytes.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import struct
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_instrumentation_scope,
    _encode_resource,
)
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import _encode_span
from opentelemetry.exporter.otlp.proto.http import _common as _http_common
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as _SDKExporter
from opentelemetry.sdk.environment_variables import (
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_SCHEDULE_DELAY,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode

from gateway.platform.tracing import DELIVERY_ID, EVENT_ID, EVENT_TYPE, OUTCOME, SOURCE

__all__ = ["LightSpan", "LightSpans", "OTLPSpanExporter", "ReadableSpans", "encode_spans"]

_log = logging.getLogger(__name__)

# Field tags (field number << 3 | wire type) of opentelemetry/proto/trace/v1/trace.proto and common.proto.
_LEN, _VARINT, _I64, _I32 = 2, 0, 1, 5
_REQUEST_RESOURCE_SPANS = bytes([1 << 3 | _LEN])
_RESOURCE_SPANS_RESOURCE, _RESOURCE_SPANS_SCOPE_SPANS, _RESOURCE_SPANS_SCHEMA = (
    bytes([1 << 3 | _LEN]),
    bytes([2 << 3 | _LEN]),
    bytes([3 << 3 | _LEN]),
)
_SCOPE_SPANS_SCOPE, _SCOPE_SPANS_SPAN, _SCOPE_SPANS_SCHEMA = (
    bytes([1 << 3 | _LEN]),
    bytes([2 << 3 | _LEN]),
    bytes([3 << 3 | _LEN]),
)
_SPAN_TRACE_ID = bytes([1 << 3 | _LEN, 16])
_SPAN_SPAN_ID = bytes([2 << 3 | _LEN, 8])
_SPAN_PARENT_ID = bytes([4 << 3 | _LEN, 8])
_SPAN_NAME = bytes([5 << 3 | _LEN])
_SPAN_KIND = bytes([6 << 3 | _VARINT])
_SPAN_START = bytes([7 << 3 | _I64])
_SPAN_END = bytes([8 << 3 | _I64])
_SPAN_ATTRIBUTE = bytes([9 << 3 | _LEN])
_SPAN_LINK = bytes([13 << 3 | _LEN])
_SPAN_STATUS = bytes([15 << 3 | _LEN])
_SPAN_FLAGS = bytes([16 << 3 | _I32 | 0x80, 1])  # field 16: a two-byte tag
_LINK_TRACE_ID = bytes([1 << 3 | _LEN, 16])
_LINK_SPAN_ID = bytes([2 << 3 | _LEN, 8])
_LINK_ATTRIBUTE = bytes([4 << 3 | _LEN])
_LINK_FLAGS = bytes([6 << 3 | _I32])
_STATUS_MESSAGE = bytes([2 << 3 | _LEN])
_STATUS_CODE = bytes([3 << 3 | _VARINT])
_KEY_VALUE_KEY, _KEY_VALUE_VALUE = bytes([1 << 3 | _LEN]), bytes([2 << 3 | _LEN])
_ANY_STRING = bytes([1 << 3 | _LEN])
_ANY_BOOL_TRUE, _ANY_BOOL_FALSE = bytes([2 << 3 | _VARINT, 1]), bytes([2 << 3 | _VARINT, 0])
_ANY_INT = bytes([3 << 3 | _VARINT])
_ANY_DOUBLE = bytes([4 << 3 | _I64])
# SpanKind's enum is the API's value + 1 (0 is "unspecified"); the span flags say whether the parent is
# remote (the SDK always says it knows). Keyed by identity: an enum member hashes in Python, and members
# are unique.
_KINDS = {id(kind): bytes([kind.value + 1]) for kind in SpanKind}
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200
_FIXED32 = struct.Struct("<I").pack
_FIXED64 = struct.Struct("<Q").pack
_DOUBLE = struct.Struct("<d").pack
_INT64 = range(-(2**63), 2**63)
_T = TypeVar("_T")
_SIZES = [bytes([size]) for size in range(0x80)]  # a length under 128 is its own one-byte varint


class LightSpan(Protocol):
    """A finished span kept in plain fields: a root (no parent, trace state or events), nothing dropped,
    its status unset or an error without a message. Its attributes, in this order: its source's name,
    then the four the receiver records (None until recorded), then ``extra``. Its name and kind follow
    from its source. ``readable`` makes it the SDK's span."""

    source: str
    ids: int  # the trace id in the top 128 bits, the span id in the low 64
    start_time: int
    end_time: int
    delivery_id: Any
    event_type: Any
    outcome: Any
    event_id: Any
    failed: bool

    @property
    def extra(self) -> Mapping[str, Any] | None: ...

    @property
    def links(self) -> Sequence[Link]: ...

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> SpanKind: ...

    @property
    def resource(self) -> Resource: ...

    @property
    def instrumentation_scope(self) -> InstrumentationScope: ...

    def readable(self) -> ReadableSpan: ...


Span = ReadableSpan | LightSpan


class _Unplain(Exception):
    """A span this encoder leaves to the SDK's (events, trace state, an attribute value not a scalar)."""


def encode_spans(spans: Sequence[Span]) -> bytes:
    """``spans`` as the serialized ``ExportTraceServiceRequest`` the SDK's ``encode_spans`` makes: grouped
    by resource, then by instrumentation scope (each by equality), in the order they first appear."""
    grouped: dict[int, tuple[Resource, dict[int, tuple[InstrumentationScope | None, list[bytes]]]]] = {}
    same = _Canonical()  # a Resource hashes by dumping its attributes to JSON: ~7 µs, so by identity here
    last: tuple[object, object] = (object(), object())  # the resource and scope of the span before
    current: list[bytes] = []  # the encoded spans of that resource and scope
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope or None
        if resource is not last[0] or scope is not last[1]:  # most often the same as the span before's
            last = resource, scope
            resource, scope = same(resource), same(scope)
            scopes = grouped.setdefault(id(resource), (resource, {}))[1]
            current = scopes.setdefault(id(scope), (scope, []))[1]
        current.append(_span(span))
    return b"".join(
        _resource_spans(
            resource, [(scope, b"".join(map(_span_field, encoded))) for scope, encoded in scopes.values()]
        )
        for resource, scopes in grouped.values()
    )


def _span_field(span: bytes) -> bytes:
    """An encoded span as a field of its ``ScopeSpans``."""
    return _message(_SCOPE_SPANS_SPAN, span)


def _resource_spans(resource: Resource, scopes: Sequence[tuple[InstrumentationScope | None, bytes]]) -> bytes:
    """The request's field for one resource's spans, given each scope's span fields."""
    resource_spans = bytearray(
        _message(_RESOURCE_SPANS_RESOURCE, _encode_resource(resource).SerializeToString())
    )
    for scope, span_fields in scopes:
        scope_spans = bytearray(
            _message(_SCOPE_SPANS_SCOPE, _encode_instrumentation_scope(scope).SerializeToString())  # type: ignore[arg-type]
        )
        scope_spans += span_fields
        if scope is not None and scope.schema_url:
            scope_spans += _message(_SCOPE_SPANS_SCHEMA, scope.schema_url.encode())
        resource_spans += _message(_RESOURCE_SPANS_SCOPE_SPANS, scope_spans)
    if resource.schema_url:
        resource_spans += _message(_RESOURCE_SPANS_SCHEMA, resource.schema_url.encode())
    return _message(_REQUEST_RESOURCE_SPANS, resource_spans)


class _Canonical:
    """The first object seen equal to each one given: a batch's spans share a few resources and scopes,
    most often the very same objects, so this compares by identity first and by equality once per new one."""

    def __init__(self) -> None:
        self._seen: dict[int, Any] = {}
        self._kept: list[Any] = []  # keeps every id above alive, so none is reused

    def __call__(self, value: _T) -> _T:
        if id(value) in self._seen:
            return self._seen[id(value)]  # type: ignore[no-any-return]
        found = next((kept for kept in self._kept if kept == value), value)
        self._seen[id(value)] = found
        self._kept.append(value)
        return found


class OTLPSpanExporter(_SDKExporter):
    """The SDK's OTLP/HTTP span exporter sending ``encode_spans``'s bytes: the request, its size limit, its
    transport and its own metrics are the SDK's (its ``export`` with the encoding swapped)."""

    def export(self, spans: Sequence[Span]) -> SpanExportResult:
        try:
            request = encode_spans(spans)
        except Exception as error:
            _log.error("Failed to encode span batch: %s", error)
            return SpanExportResult.FAILURE
        return self.send(request, len(spans))

    def send(self, request: bytes, count: int) -> SpanExportResult:
        """Send an encoded ``ExportTraceServiceRequest`` of ``count`` spans."""
        if self._shutdown:
            _log.warning("Exporter already shutdown, ignoring batch")
            return SpanExportResult.FAILURE
        with self._metrics.export_operation(count) as result:
            if _http_common._is_request_too_large(request, self._max_request_size):
                _log.warning("Dropping span batch: serialized size %d bytes is over the limit", len(request))
                result.error = _http_common.RequestPayloadTooLargeError(f"{len(request)} bytes")
                return SpanExportResult.FAILURE
            sent = self._client.export(request)
            if not sent.success:
                result.error = sent.error
                if sent.status_code is not None:
                    result.error_attrs = {HTTP_RESPONSE_STATUS_CODE: sent.status_code}
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


class LightSpans:
    """Light spans written as they end, on the thread that ends them, queued as bytes and sent in batches
    from a thread of this queue's own: the SDK's batch processor, for spans it cannot hold.

    The SDK's processor keeps each span object until its thread encodes it; that thread then takes the
    GIL from the gateway's event loop for every span, to read fields the event loop had just written.
    Written at their end, the spans' fields are read while they are still in the cache, the span objects
    go with their requests, and what the thread has left per span is a ``popleft`` and its share of one
    POST. Batching follows the SDK's variables: ``OTEL_BSP_SCHEDULE_DELAY`` (ms between exports),
    ``OTEL_BSP_MAX_EXPORT_BATCH_SIZE`` (spans per request, and how many queued wake the thread) and
    ``OTEL_BSP_MAX_QUEUE_SIZE`` (past that, the oldest are dropped), with defaults four times the SDK's
    batch and queue: a gateway's spans are small and many, and each POST costs about what 500 of them do.
    """

    def __init__(self, exporter: OTLPSpanExporter, resource: Resource, scope: InstrumentationScope) -> None:
        self._exporter = exporter
        self._resource, self._scope = resource, scope
        self._delay = _setting(OTEL_BSP_SCHEDULE_DELAY, 5000) / 1000
        self._batch = _setting(OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 2048)
        self._limit = max(_setting(OTEL_BSP_MAX_QUEUE_SIZE, 8192), self._batch)
        # Full, it drops its oldest on each append, as the SDK's queue does.
        self._queue: collections.deque[bytes] = collections.deque(maxlen=self._limit)
        self._dropped = self._unwritable = 0
        self._wake = threading.Event()
        self._exporting = threading.Lock()  # one export at a time: the thread's, or a flush
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="hookgate-span-export", daemon=True)
        self._thread.start()

    def add(self, span: LightSpan) -> None:
        """Write ``span`` and queue it; wake the thread once a batch is waiting."""
        try:
            field = _span_field(_span(span))
        except Exception:  # a value no encoder can write (a lone surrogate from a body): this span only
            self._unwritable += 1
            return
        queue = self._queue
        if len(queue) == self._limit:
            self._dropped += 1  # said by the next export
        queue.append(field)
        if len(queue) >= self._batch and not self._wake.is_set():
            self._wake.set()

    def shutdown(self) -> None:
        """Send everything queued, stop the thread, then the exporter."""
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=30)
        self._export()
        self._exporter.shutdown()  # type: ignore[no-untyped-call]

    def _run(self) -> None:
        while not self._stopped:
            woken = self._wake.wait(self._delay)
            self._wake.clear()
            # Woken by a full batch: send full batches only (what came in during a POST waits for the next
            # batch or the delay, not a POST of its own). At the delay: everything.
            self._export(whole_batches=woken and not self._stopped)

    def _export(self, *, whole_batches: bool = False) -> None:
        with self._exporting:
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                _log.warning("Dropped %d spans: the export queue was full", dropped)
            if self._unwritable:
                unwritable, self._unwritable = self._unwritable, 0
                _log.warning("Dropped %d spans that could not be encoded", unwritable)
            queue = self._queue
            while len(queue) >= self._batch or (queue and not whole_batches):
                fields = [queue.popleft() for _ in range(min(len(queue), self._batch))]
                request = _resource_spans(self._resource, [(self._scope, b"".join(fields))])
                try:
                    self._exporter.send(request, len(fields))
                except Exception:  # the SDK's processor carries on after a failed export too
                    _log.exception("Exception while exporting Span.")


def _setting(variable: str, default: int) -> int:
    """A positive whole number from an ``OTEL_BSP_*`` variable; ``default`` when unset or unreadable."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        _log.warning("%s=%r is not a positive whole number; using %d", variable, value, default)
        return default
    return number


class ReadableSpans(SpanExporter):
    """Hands ``exporter`` the SDK's spans only: each ``LightSpan`` becomes a ``ReadableSpan`` on the way."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[Span]) -> SpanExportResult:
        return self.exporter.export(
            [span if isinstance(span, ReadableSpan) else span.readable() for span in spans]
        )

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


# One span


def _span(span: Span) -> bytes:
    """One ``Span`` message: written here when it is plain, else by the SDK's encoder."""
    try:
        return _plain_span(span) if isinstance(span, ReadableSpan) else _light_span(span)
    except _Unplain:
        readable = span if isinstance(span, ReadableSpan) else span.readable()
        return bytes(_encode_span(readable).SerializeToString())


def _light_span(span: LightSpan) -> bytes:
    """What ``_plain_span`` writes for the SDK's span of ``span``, from its fields: the parts that depend
    only on its source, or on an attribute value's size, are made once."""
    ids = span.ids.to_bytes(24, "big")
    head, source = _SOURCES.get(span.source) or _source_parts(span)
    parts = [
        _SPAN_TRACE_ID,
        ids[:16],
        _SPAN_SPAN_ID,
        ids[16:],
        head,
        _TIMES(_SPAN_START_TAG, span.start_time, _SPAN_END_TAG, span.end_time),
        source,
    ]
    if span.delivery_id is not None:
        parts.append(_recorded(_DELIVERY_ID, span.delivery_id))
    if span.event_type is not None:
        parts.append(_recorded(_EVENT_TYPE, span.event_type))
    if (outcome := span.outcome) is not None:
        parts.append(_outcome(outcome) if outcome.__class__ is str else _recorded(_OUTCOME, outcome))
    if span.event_id is not None:
        parts.append(_recorded(_EVENT_ID, span.event_id))
    if span.extra:
        if SOURCE in span.extra:  # the source attribute set again: where it stands is the SDK's business
            raise _Unplain
        parts.append(_attributes(span.extra))
    if span.links:
        parts += [_message(_SPAN_LINK, _link(link)) for link in span.links]
    parts.append(_FAILED_ROOT_END if span.failed else _ROOT_END)
    return b"".join(parts)


def _source_parts(span: LightSpan) -> tuple[bytes, bytes]:
    """A light span's name and kind fields, and its source attribute's: the same for every span of its
    source (kept for the first thousand sources)."""
    parts = (
        _name(span.name) + _SPAN_KIND + _KINDS[id(span.kind)],
        _attributes({SOURCE: span.source}),
    )
    if len(_SOURCES) < 1000:
        _SOURCES[span.source] = parts
    return parts


def _recorded(key: _RecordedKey, value: Any) -> bytes:
    """The attribute field of a value the receiver recorded: a string of a size the key's heads cover is
    its head and its bytes; anything else is written as ``_attributes`` writes it."""
    if value.__class__ is str and len(data := value.encode()) < key.limit:
        return key.heads[len(data)] + data
    return _attributes({key.name: value})


@functools.lru_cache(maxsize=256)  # a handful of outcomes
def _outcome(value: str) -> bytes:
    return _recorded(_OUTCOME, value)


class _RecordedKey:
    """An attribute the receiver records: its name, and the head of its field for each value size whose
    lengths all fit one byte."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.heads: list[bytes] = []
        while (head := _string_head(_SPAN_ATTRIBUTE, name, len(self.heads))) is not None:
            self.heads.append(head)
        self.limit = len(self.heads)


def _plain_span(span: ReadableSpan) -> bytes:
    """``span``'s message, its fields in field-number order, proto3 defaults left out."""
    context = span.get_span_context()
    if span.events or context is None or context.trace_state:
        raise _Unplain
    parent = span.parent
    parts = [
        _SPAN_TRACE_ID,
        context.trace_id.to_bytes(16, "big"),
        _SPAN_SPAN_ID,
        context.span_id.to_bytes(8, "big"),
    ]
    if parent is not None:
        parts += (_SPAN_PARENT_ID, parent.span_id.to_bytes(8, "big"))
    parts.append(_name(span.name))
    parts += (_SPAN_KIND, _KINDS[id(span.kind)])
    if span.start_time:
        parts += (_SPAN_START, _FIXED64(span.start_time))
    if span.end_time:
        parts += (_SPAN_END, _FIXED64(span.end_time))
    attributes = span.attributes
    if attributes:
        parts.append(_attributes(attributes))
    if span.dropped_attributes:
        parts.append(_varint_field(10, span.dropped_attributes))
    if span.dropped_events:
        parts.append(_varint_field(12, span.dropped_events))
    for link in span.links:
        parts.append(_message(_SPAN_LINK, _link(link)))
    if span.dropped_links:
        parts.append(_varint_field(14, span.dropped_links))
    status = span.status
    parts += (
        _message(_SPAN_STATUS, _status(status.status_code, status.description)),
        _SPAN_FLAGS,
        _FIXED32(_flags(parent)),
    )
    return b"".join(parts)


def _link(link: Link) -> bytes:
    """A ``Link`` message (its trace state is not sent: the SDK's encoder leaves it out too)."""
    context = link.context
    return b"".join(
        (
            _LINK_TRACE_ID + context.trace_id.to_bytes(16, "big"),
            _LINK_SPAN_ID + context.span_id.to_bytes(8, "big"),
            _attributes(link.attributes, _LINK_ATTRIBUTE) if link.attributes else b"",
            _varint_field(5, link.dropped_attributes) if link.dropped_attributes else b"",
            _LINK_FLAGS + _FIXED32(_flags(context)),
        )
    )


def _flags(context: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if context is not None and context.is_remote else _HAS_IS_REMOTE


def _status(code: StatusCode, description: str | None) -> bytes:
    out = _message(_STATUS_MESSAGE, description.encode()) if description else b""
    return out + (_STATUS_CODE + bytes([code.value]) if code.value else b"")


def _attributes(attributes: Mapping[str, Any], tag: bytes = _SPAN_ATTRIBUTE) -> bytes:
    """Repeated ``KeyValue`` fields (``tag``) for scalar values: str, bool, int64, float."""
    parts: list[bytes] = []
    for key, value in attributes.items():
        if value.__class__ is str:
            data = value.encode()
            head = _string_head(tag, key, len(data))
            if head is not None:  # the common case, every size one byte: all but the value made once
                parts += (head, data)
                continue
            any_value = _message(_ANY_STRING, data)
        elif value is True:
            any_value = _ANY_BOOL_TRUE
        elif value is False:
            any_value = _ANY_BOOL_FALSE
        elif isinstance(value, int) and value in _INT64:
            any_value = _ANY_INT + _varint(value & 0xFFFFFFFFFFFFFFFF)  # two's complement, as int64 is
        elif isinstance(value, float):
            any_value = _ANY_DOUBLE + _DOUBLE(value)
        elif isinstance(value, str):
            any_value = _message(_ANY_STRING, value.encode())
        else:
            raise _Unplain
        parts.append(_message(tag, _key(key) + _message(_KEY_VALUE_VALUE, any_value)))
    return b"".join(parts)


@functools.lru_cache(maxsize=4096)
def _string_head(tag: bytes, key: str, size: int) -> bytes | None:
    """Everything of a string attribute's ``KeyValue`` field before its ``size`` bytes of value, when each
    length in it fits one byte (else None)."""
    key_field = _key(key)
    total = len(key_field) + size + 4  # the KeyValue: its key, the value's tag and size, AnyValue's
    if total >= 0x80:
        return None
    return tag + _SIZES[total] + key_field + _KEY_VALUE_VALUE + _SIZES[size + 2] + _ANY_STRING + _SIZES[size]


@functools.lru_cache(maxsize=1024)
def _name(name: str) -> bytes:
    return _message(_SPAN_NAME, name.encode()) if name else b""


@functools.lru_cache(maxsize=1024)
def _key(key: str) -> bytes:
    return _message(_KEY_VALUE_KEY, key.encode()) if key else b""  # proto3 leaves an empty string out


# Wire format


def _message(tag: bytes, payload: bytes | bytearray) -> bytes:
    """A length-delimited field: its tag, its length, its bytes."""
    size = len(payload)
    return tag + (_SIZES[size] if size < 0x80 else _varint(size)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return bytes([number << 3 | _VARINT]) + _varint(value)


@functools.lru_cache(maxsize=4096)  # mostly the sizes of a batch's spans, which repeat
def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# How a light span ends: its status (unset, or an error without a message), then a root's flags.
_ROOT_END = _message(_SPAN_STATUS, _status(StatusCode.UNSET, None)) + _SPAN_FLAGS + _FIXED32(_flags(None))
_FAILED_ROOT_END = (
    _message(_SPAN_STATUS, _status(StatusCode.ERROR, None)) + _SPAN_FLAGS + _FIXED32(_flags(None))
)

# What a light span is written from: its source's parts, its times, the heads of its recorded attributes.
_SOURCES: dict[str, tuple[bytes, bytes]] = {}
_TIMES = struct.Struct("<BQBQ").pack  # the start's tag and time, the end's
_SPAN_START_TAG, _SPAN_END_TAG = _SPAN_START[0], _SPAN_END[0]
_DELIVERY_ID, _EVENT_TYPE, _OUTCOME, _EVENT_ID = map(
    _RecordedKey, (DELIVERY_ID, EVENT_TYPE, OUTCOME, EVENT_ID)
)
