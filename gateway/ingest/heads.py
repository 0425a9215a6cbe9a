"""Bounds on request heads, which uvicorn's httptools protocol leaves open: a 32 MB header was read
whole before its 401, and a client sending its head a byte at a time was never dropped.

The head (request line and headers) may be at most ``[gateway] max_head_bytes`` long with at most
``max_headers`` headers (else 431), and must arrive within ``head_timeout_seconds`` of its first byte,
or of the connection when nothing comes at all (else 408 and the connection closes). The defaults fit
every provider's deliveries many times over; a reverse proxy in front should hold its own, tighter
bounds (see the README).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class HeadLimits:
    max_bytes: int = 65_536
    max_headers: int = 100
    seconds: float = 10.0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded in size, header count and time."""

    #: This process's limits (``use_limits``): uvicorn builds the protocol by itself, in every worker.
    limits = HeadLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_head = True
        self._head_bytes = 0
        self._head_headers = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._too_many_headers = False
        self._head_done = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()  # a connection that never sends a byte is dropped too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._awaiting_head and self._head_timer is None:
            self._start_head_timer()
        started_in_head, self._head_done = self._awaiting_head, False
        super().data_received(data)
        if self._too_many_headers:
            self._refuse(431, f"the request has more than {self.limits.max_headers} headers")
            return
        # Bytes that went only into an unfinished head (a chunk that also finished one is not counted).
        if started_in_head and self._awaiting_head and not self._head_done and not self._refused:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_bytes:
                self._refuse(431, f"the request head exceeds {self.limits.max_bytes} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_headers += 1
        if self._head_headers > self.limits.max_headers:
            self._too_many_headers = True  # refused once the parser returns; until then it feeds nothing
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._too_many_headers:
            return
        self._awaiting_head, self._head_done = False, True
        self._head_bytes = self._head_headers = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._too_many_headers:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._too_many_headers:
            return
        super().on_message_complete()
        self._awaiting_head = True  # what comes next on this connection is another head

    def _start_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.limits.seconds, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._awaiting_head or self._refused or self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(408, f"the request head did not arrive within {self.limits.seconds:g} s")
        else:  # nothing sent at all: nobody to answer
            self.transport.close()

    def _refuse(self, status: int, detail: str) -> None:
        """A problem+json answer, then the connection closes (the rest of the head is never read)."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._cancel_head_timer()
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        slug = {408: "head-timeout", 431: "head-too-large"}[status]
        problem = {"type": f"urn:hookgate:problem:{slug}", "title": reason.decode(), "status": status}
        body = json.dumps({**problem, "detail": detail}).encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/problem+json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        self.transport.close()


def use_limits(limits: HeadLimits) -> type[BoundedHttpToolsProtocol]:
    """Set this process's head limits; the protocol class to give uvicorn (``http=``)."""
    BoundedHttpToolsProtocol.limits = limits
    return BoundedHttpToolsProtocol
