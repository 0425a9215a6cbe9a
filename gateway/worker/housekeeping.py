"""A worker's background chores, each on a thread of its own from boot to shutdown: its heartbeat, and
moving waiting messages to their queues when they are due. (The reconciler, one process at a time, is
``gateway.worker.reconciler``.)"""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
import redis
import structlog
from dramatiq.middleware import Middleware

from gateway.platform.connections import is_outage
from gateway.store import keys, scripts

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


class Heartbeat(Periodic):
    """Refreshes this worker's heartbeat on its own thread.

    Dramatiq's Redis broker only beats when a consumer talks to Redis, so a worker whose threads are all
    busy on slow consumers would look dead and have its messages handed to another worker. Beating
    regardless is safe because a worker never keeps messages it has lost track of (``holdings``).
    """

    name = "heartbeat"

    def __init__(self, interval_seconds: float) -> None:
        super().__init__(interval_seconds)
        self._broker: Any = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._broker = broker
        super().after_worker_boot(broker, worker)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Beat on while running consumers finish, so their messages are not taken for a dead worker's."""

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stop()

    def tick(self) -> None:
        broker = self._broker
        broker.client.zadd(f"{broker.namespace}:__heartbeats__", {broker.broker_id: int(time.time() * 1000)})


class Promoter(Periodic):
    """Moves waiting messages (retries not yet due) to their queues once due; every worker runs one and
    whichever gets to a message first moves it, once."""

    name = "promoter"
    #: Messages moved per script call; a backlog is worked through in several calls per tick.
    BATCH = 500

    def __init__(self, client: redis.Redis, interval_seconds: float) -> None:
        super().__init__(interval_seconds)
        self._promote = scripts.register(client, "promote")

    def tick(self) -> None:
        while self.promote() == self.BATCH and not self._stop.is_set():
            pass

    def promote(self, now_ms: int | None = None) -> int:
        """Move up to ``BATCH`` due messages; how many moved."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        moved: int = self._promote(keys=[keys.WAITING, keys.WAITING_MESSAGES], args=[now_ms, self.BATCH])
        return moved
