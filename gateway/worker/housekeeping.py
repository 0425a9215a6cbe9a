"""A worker's background chores, each on a thread of its own from boot to shutdown: its heartbeat, and
moving waiting messages to their queues when they are due. (The reconciler, one process at a time, is
``gateway.worker.reconciler``.)"""

from __future__ import annotations

import time
from typing import Any

import dramatiq
import redis
import structlog

from gateway.platform.periodic import Periodic
from gateway.store import keys, scripts

log = structlog.get_logger("hookgate.worker")


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
        broker.client.zadd(keys.DRAMATIQ_HEARTBEATS, {broker.broker_id: int(time.time() * 1000)})


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
