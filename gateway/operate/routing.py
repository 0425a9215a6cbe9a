"""``route test``: what would happen to an event, consumer by consumer, before it is deployed or replayed.

For each consumer a worker would load (``[[forward]]`` entries and the ``@consumer`` functions of
``[consumers] modules``): whether it routes on the event's source and type, whether its filter matches
and, if not, the first clause that declined; for a forward, the request it would send (after its
transformation, which is run here under its time limit). Nothing is sent and nothing is written.

The CLI, the admin API and the dashboard's event page show the same ``RouteVerdict`` list.
"""

from __future__ import annotations

import base64
import time
import traceback
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from consumers import Consumer, Declined, Event, Registry
from gateway.config.filtering import Request
from gateway.operate.context import Context
from gateway.operate.filters import BadRequest
from gateway.platform.timeparse import parse_time
from gateway.worker.forward import Forwarder
from gateway.worker.routing import Filters

__all__ = ["RouteTable", "RouteVerdict", "SentRequest"]

#: Of a body shown in a verdict, at most this many characters (the full size is given).
BODY_PREVIEW = 4096


@dataclass(frozen=True)
class SentRequest:
    """What a forward would send: method, URL, headers and the body (text when UTF-8, else base64)."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str | None
    body_base64: str | None
    size: int


@dataclass(frozen=True)
class RouteVerdict:
    """One consumer's answer to one event. ``outcome``: ``not routed`` (another source or event type),
    ``filtered`` (its filter or transformation declined: ``reason`` says why), ``delivered`` (it would
    get the event; ``request`` is what a forward would send) or ``error`` (its transformation failed)."""

    consumer: str
    outcome: str
    reason: str | None = None
    request: SentRequest | None = None

    def record(self) -> dict[str, Any]:
        found = asdict(self)
        if self.request is not None:
            found["request"]["headers"] = [list(pair) for pair in self.request.headers]
        return found


class RouteTable:
    """Every consumer a worker would load, with their filters compiled, for ``check``; with ``sources``
    (the configured ones), ``check_given`` refuses any other source."""

    def __init__(self, registry: Registry, sources: Collection[str] | None = None) -> None:
        self._registry = registry
        self._filters = Filters(registry)
        self._sources = None if sources is None else frozenset(sources)

    def check(self, event: Event, request: Request) -> list[RouteVerdict]:
        """Each consumer's verdict on ``event`` (``request``: what its filters see), in name order."""
        return [self._verdict(consumer, event, request) for consumer in self._registry]

    def check_stored(self, ctx: Context, event_id: str) -> list[RouteVerdict] | None:
        """The verdicts on a stored event (None when it is not stored)."""
        record = ctx.events.get(event_id)
        if record is None:
            return None
        body = base64.b64decode(record.get("body_base64") or "")
        headers = [(str(name), str(value)) for name, value in record.get("headers") or []]
        received = record.get("received_at")
        event = Event(
            id=event_id,
            source=record["source"],
            event_type=record.get("event_type"),
            delivery_id=record.get("delivery_id"),
            received_at=parse_time(received) if isinstance(received, str) else time.time(),
            body=body,
            headers=headers,
        )
        path = f"/webhooks/{record['source']}"
        return self.check(event, Request(body, headers, record.get("query") or "", path))

    def check_given(
        self, source: str, body: bytes, headers: Iterable[str], event_type: str | None = None, query: str = ""
    ) -> list[RouteVerdict]:
        """The verdicts on a delivery an operator describes: a body and ``Name: value`` header lines."""
        if self._sources is not None and source not in self._sources:
            raise BadRequest("source", f"no source named {source!r}")
        pairs = [_header(line) for line in headers]
        event = Event("evt_route_test", source, event_type, None, time.time(), body, pairs)
        return self.check(event, Request(body, pairs, query, f"/webhooks/{source}"))

    def _verdict(self, consumer: Consumer, event: Event, request: Request) -> RouteVerdict:
        if not consumer.wants(event.source, event.event_type):
            wanted = ", ".join(consumer.events) or "any type"
            reason = f"wants source {consumer.source!r} ({wanted})"
            return RouteVerdict(consumer.name, "not routed", reason)
        found = self._filters.get(consumer.name)
        if found is not None:
            verdict = found.check(request)
            if not verdict.matched:
                return RouteVerdict(consumer.name, "filtered", verdict.reason or "declined by its filter")
        handler = consumer.handler
        if not isinstance(handler, Forwarder):
            return RouteVerdict(consumer.name, "delivered")
        event = Event(**{**asdict(event), "consumer": consumer.name})
        try:
            outgoing = handler.outgoing(event)
            # What a transformation returned may still make no request (a header that cannot be encoded).
            method, url, raw = handler.request(event, outgoing)
        except Declined as declined:
            return RouteVerdict(consumer.name, "filtered", str(declined))
        except Exception as exc:
            lines = traceback.format_exception_only(type(exc), exc)
            return RouteVerdict(consumer.name, "error", "".join(lines).strip())
        return RouteVerdict(consumer.name, "delivered", request=_sent(method, url, raw, outgoing.body))


def _sent(method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> SentRequest:
    pairs = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
    try:
        text: str | None = body.decode("utf-8")[:BODY_PREVIEW]
    except UnicodeDecodeError:
        text = None
    shown = None if text is not None else base64.b64encode(body[:BODY_PREVIEW]).decode()
    return SentRequest(method, url, pairs, text, shown, len(body))


def _header(line: str) -> tuple[str, str]:
    name, sep, value = line.partition(":")
    if not sep or not name.strip():
        raise BadRequest("header", f"{line!r} is not 'Name: value'")
    return name.strip(), value.strip()
