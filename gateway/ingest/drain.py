"""A gateway's way out on SIGTERM: fail readiness first, for ``[gateway] shutdown_delay_seconds``, so a
load balancer (haproxy's health check, a Kubernetes Service) stops sending new requests; then let uvicorn
stop accepting, finish the requests in flight and exit. A second SIGTERM stops at once."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

import structlog

log = structlog.get_logger("hookgate.gateway")


class Drain:
    def __init__(self, delay_seconds: float) -> None:
        self.delay = delay_seconds
        self.active = False

    def begin(self, then: Callable[[], object]) -> None:
        """Fail readiness now and call ``then`` (on the running loop) once the delay has passed."""
        if self.active:
            then()  # asked twice: no more waiting
            return
        self.active = True
        log.info("stopping: readiness fails first", delay_seconds=self.delay)
        asyncio.get_running_loop().call_later(self.delay, then)

    def install(self) -> None:
        """At the app's start-up, after uvicorn set its signal handlers: put this one in front of its
        SIGTERM handler (in the main thread only, and only with a delay to wait)."""
        if self.delay <= 0 or threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        uvicorns = signal.getsignal(signal.SIGTERM)
        if not callable(uvicorns):
            return

        def on_term(signum: int, frame: FrameType | None) -> None:
            # A signal handler runs between two bytecodes of the main thread: hand over to the loop.
            loop.call_soon_threadsafe(self.begin, lambda: uvicorns(signum, frame))

        signal.signal(signal.SIGTERM, on_term)
