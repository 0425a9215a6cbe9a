"""A chore that runs every few seconds on a thread of its own: a worker's heartbeat and promoter, the
reconciler, the record writer, the alert evaluator. It is a Dramatiq middleware, so a worker starts and
stops it with itself; a gateway starts and stops it by hand."""

from __future__ import annotations

import threading

import dramatiq
import structlog
from dramatiq.middleware import Middleware

from gateway.platform.connections import is_outage

log = structlog.get_logger("hookgate.worker")


class Periodic(Middleware):
    """Runs ``tick`` every ``interval_seconds`` on its own thread while the worker runs. A Redis outage
    is logged when it starts and when it ends, not on every tick."""

    name = "periodic"

    def __init__(self, interval_seconds: float) -> None:
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def tick(self) -> None:
        """One round of the chore."""

    def start(self) -> None:
        """Run ``tick`` on its own thread (a worker calls this at boot, a gateway at start-up)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"hookgate-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception as exc:
                if not is_outage(exc):
                    log.error(f"{self.name} failed", exc_info=True)
                elif not self._failing:
                    log.warning(
                        f"{self.name} paused: redis is unavailable",
                        error_type=type(exc).__name__,
                        error=str(exc),
                    )
                self._failing = True
            else:
                if self._failing:
                    log.info(f"{self.name} resumed")
                self._failing = False
