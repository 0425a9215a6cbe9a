"""Dramatiq's Redis broker built from the settings, with the middleware hookgate relies on."""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
import redis
import structlog
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from gateway import keys
from gateway.settings import Settings

log = structlog.get_logger("hookgate.broker")


class Heartbeat(Middleware):
    """Refreshes this worker's heartbeat on its own thread.

    Dramatiq's Redis broker only beats when a consumer talks to Redis, so a worker whose threads are all
    busy on slow consumers would look dead and have its messages handed to another worker.
    """

    def __init__(self, interval_seconds: float) -> None:
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        assert isinstance(broker, RedisBroker)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat, args=(broker,), name="hookgate-heartbeat", daemon=True
        )
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()

    def _beat(self, broker: RedisBroker) -> None:
        heartbeats = f"{broker.namespace}:__heartbeats__"
        while not self._stop.wait(self.interval):
            try:
                broker.client.zadd(heartbeats, {broker.broker_id: int(time.time() * 1000)})
            except redis.RedisError as exc:
                log.warning("heartbeat failed", error=str(exc))


def build_broker(settings: Settings, client: redis.Redis, *extra: Middleware) -> RedisBroker:
    """The broker for the worker; call before declaring actors (``consumers.declare_actors``).

    ``extra`` middleware goes before ``Retries``, so its "after" hooks see Retries' decision.
    """
    worker = settings.worker
    retries = settings.retries
    broker = AckBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=keys.DRAMATIQ_NAMESPACE,
        heartbeat_timeout=worker.heartbeat_timeout_ms,
        maintenance_chance=worker.maintenance_chance,
        # hookgate keeps its own dead-letter queue; Dramatiq's copy of dead messages only needs to be brief.
        dead_message_ttl=3_600_000,
        middleware=[
            AgeLimit(),
            TimeLimit(),
            ShutdownNotifications(),
            Callbacks(),
            Pipelines(),
            CurrentMessage(),
            *extra,
            Retries(
                max_retries=retries.max_retries,
                min_backoff=retries.min_backoff_ms,
                max_backoff=retries.max_backoff_ms,
            ),
            Heartbeat(interval_seconds=worker.heartbeat_timeout_ms / 1000 / 4),
        ],
    )
    dramatiq.set_broker(broker)
    return broker


class AckBroker(RedisBroker):
    """Dramatiq's Redis broker, plus one thing: a write registered with ``on_ack`` while a message runs is
    sent in the same MULTI/EXEC as that message's ack. A consumer's success is then recorded exactly when
    its message is acknowledged, in one round trip instead of two.

    It builds the ack's arguments as ``RedisBroker._dispatch`` does (Dramatiq 2.x, pinned); the worker's
    integration tests run real messages through it.
    """

    _pending = threading.local()

    @classmethod
    def on_ack(cls, message_id: str, sha: str, keys: list[str], args: list[Any]) -> None:
        """Send this script call with the ack of ``message_id`` (a message this thread is running)."""
        cls._pending.write = (message_id, sha, keys, args)

    def _dispatch(self, command: str) -> Any:
        plain = super()._dispatch(command)  # type: ignore[no-untyped-call]
        if command != "ack":
            return plain

        def do_ack(queue_name: str, message_id: str) -> Any:
            pending = getattr(self._pending, "write", None)
            if pending is None or pending[0] != message_id:
                return plain(queue_name, message_id)
            _, sha, keys, args = pending
            dispatch = self.scripts["dispatch"]
            ack_args = [
                command,
                int(time.time() * 1000),
                queue_name,
                self.broker_id,
                self.heartbeat_timeout,
                self.dead_message_ttl,
                0,
                self._max_unpack_size(),  # type: ignore[no-untyped-call]
                message_id,
            ]
            for attempt in range(2):
                try:
                    with self.client.pipeline(transaction=True) as pipe:
                        pipe.evalsha(sha, len(keys), *keys, *args)
                        pipe.evalsha(dispatch.sha, 1, self.namespace, *ack_args)
                        result = pipe.execute()[-1]
                    break
                except redis.exceptions.NoScriptError:
                    if attempt:
                        raise
                    self._reload_scripts()
            self._pending.write = None
            return result

        return do_ack

    def _reload_scripts(self) -> None:
        """Redis forgot its scripts (a restart or SCRIPT FLUSH): load them again."""
        from consumers.ledger import load_scripts

        load_scripts(self.client)
        for script in self.scripts.values():
            self.client.script_load(script.script)
