"""Dramatiq's Redis broker built from the settings, made so that nothing a worker takes can be lost.

Three changes to Dramatiq's own broker, each for a way the Redis broker loses messages when Redis goes
away for a moment (issue 10):

- **A message is settled with its outcome.** What processing a message decided (the ledger's success,
  a failure and the next attempt, a fan-out, a dead letter) is recorded against the message while it
  runs and written in the same atomic step as its acknowledgement (``store/lua/settle.lua``). While Redis is
  unreachable the worker retries that step with backoff, for at most ``[worker] outcome_retry_seconds``;
  if it gives up, the message is not acknowledged and comes back.
- **Waiting messages live in Redis.** A delayed message (a retry's next attempt) goes to a sorted set
  by due time, never to a worker's memory; ``housekeeping.Promoter`` moves it to its queue when due.
- **A worker gives back what it lost track of** (``holdings``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import dramatiq
import msgspec
import redis
import structlog
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import DecodeError
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    MiddlewareError,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from gateway.config import Settings
from gateway.platform.connections import is_outage, patiently
from gateway.store import keys, scripts
from gateway.store.ledger import Operation, encode
from gateway.worker.holdings import Fetched, Holdings, TrackingConsumer
from gateway.worker.housekeeping import Heartbeat, Promoter
from gateway.worker.middleware import DeadLetterMiddleware

log = structlog.get_logger("hookgate.broker")

T = TypeVar("T")


class MessageEncoder(dramatiq.Encoder):
    """Dramatiq's JSON messages, written and read by msgspec: the same compact JSON as Dramatiq's own
    encoder (json.dumps) at a fraction of the cost on every enqueue and fetch."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(dict[str, Any])

    def encode(self, data: dict[str, Any]) -> bytes:
        return self._encoder.encode(data)

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            return self._decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise DecodeError(f"failed to decode message {data!r}", data, exc) from None  # type: ignore[no-untyped-call]


def build_broker(settings: Settings, client: redis.Redis) -> HookgateBroker:
    """The broker for the worker and for whatever enqueues (CLI, admin API); call it before declaring
    actors (``declare_actors``). It is not Dramatiq's global broker: the worker's bootstrap makes it so
    (``gateway.processes.bootstrap``), a web or CLI process never does."""
    worker = settings.worker
    retries = settings.retries
    dramatiq.set_encoder(MessageEncoder())
    broker = HookgateBroker(
        client=client,
        heartbeat_timeout=worker.heartbeat_timeout_ms,
        maintenance_chance=worker.maintenance_chance,
        outcome_retry_seconds=worker.outcome_retry_seconds,
        middleware=[
            AgeLimit(),
            TimeLimit(),
            ShutdownNotifications(),
            Callbacks(),
            Pipelines(),
            CurrentMessage(),
            Retries(
                max_retries=retries.max_retries,
                min_backoff=retries.min_backoff_ms,
                max_backoff=retries.max_backoff_ms,
            ),
            Heartbeat(interval_seconds=worker.heartbeat_timeout_ms / 1000 / 4),
            Promoter(client, interval_seconds=worker.delay_poll_ms / 1000),
        ],
    )
    # Before Retries: its "after" hooks run after Retries' and see its decision (message.failed).
    broker.add_middleware(DeadLetterMiddleware(broker), before=Retries)
    return broker


class HookgateBroker(RedisBroker):
    """Dramatiq's Redis broker with outcomes settled in one step, waiting messages in Redis and
    holdings given back. Dramatiq's major version is pinned: this builds on its Redis keys and on
    ``RedisBroker``'s ``do_*`` commands, and the worker's integration tests run real messages through it.
    """

    def __init__(
        self,
        *,
        client: redis.Redis,
        heartbeat_timeout: int,
        maintenance_chance: int,
        outcome_retry_seconds: float,
        middleware: list[Middleware],
    ) -> None:
        # Each signal's hooks (``_hooks_for``); ``add_middleware``, which super() calls, clears it.
        self._hooks: dict[str, list[tuple[Middleware, Callable[..., Any]]]] = {}
        super().__init__(  # type: ignore[no-untyped-call]
            client=client,
            namespace=keys.DRAMATIQ_NAMESPACE,
            heartbeat_timeout=heartbeat_timeout,
            maintenance_chance=maintenance_chance,
            middleware=middleware,
        )
        self.holdings = Holdings()
        #: Per queue, what to read with each fetch for the messages fetched (``Fetched.read_ahead``): one
        #: pipelined read per fetch instead of one per message (``declare_actors`` sets dispatch's).
        self.read_ahead: dict[str, Callable[[list[Fetched]], None]] = {}
        self._outcomes: dict[str, list[Operation]] = {}
        self._unsure: set[str] = set()
        self._lock = threading.Lock()
        self._settle = scripts.register(client, "settle")
        self._give_back = scripts.register(client, "give_back")
        self._patience = patiently(outcome_retry_seconds, "worker")
        self._give_back_seconds = heartbeat_timeout / 1000 / 4

    # Consuming

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> TrackingConsumer:
        return TrackingConsumer(self, queue_name, prefetch, timeout, self._give_back_seconds)

    def declare_queue(self, queue_name: str) -> None:
        """Declare a queue. Unlike Dramatiq, no delay queue: waiting messages never enter a worker."""
        if queue_name not in self.queues:
            self.emit_before("declare_queue", queue_name)
            self.queues.add(queue_name)
            self.emit_after("declare_queue", queue_name)

    def give_back(self, queue_name: str) -> int:
        """Requeue the messages of ``queue_name`` in this worker's ack set that it no longer holds."""
        given: int = self._give_back(
            keys=[
                self._acks(queue_name),
                keys.dramatiq_queue(queue_name),
                keys.dramatiq_messages(queue_name),
            ],
            args=self.holdings.snapshot(queue_name),
        )
        if given:
            log.warning("gave back messages this worker had lost track of", queue=queue_name, messages=given)
        return given

    def _acks(self, queue_name: str) -> str:
        """This worker's ack set for a queue: what Redis says it holds (Dramatiq's dispatch.lua)."""
        return keys.dramatiq_acks(self.broker_id, queue_name)

    # Outcomes

    def record(self, message_id: str, operation: Operation) -> None:
        """Write ``operation`` with the acknowledgement of ``message_id`` (a message this worker runs)."""
        with self._lock:
            self._outcomes.setdefault(message_id, []).append(operation)

    def wait_out(self, call: Callable[[], T]) -> T:
        """``call`` (a Redis command), retried through an outage for ``outcome_retry_seconds``."""
        try:
            return call()
        except Exception as exc:  # the common case pays nothing for the retry machinery
            if not is_outage(exc):
                raise
        return self._patience(call)

    def settle(self, queue_name: str, message: Any) -> None:
        """Acknowledge a message (done, retried or dead: the outcome says which) together with its
        outcome, waiting out a Redis outage. If that fails, it is left unacknowledged: given back, it
        runs again."""
        message_id = message.options["redis_message_id"]
        with self._lock:
            operations = self._outcomes.pop(message_id, [])
            unsure = message_id in self._unsure
            self._unsure.discard(message_id)
        try:
            if unsure:
                log.error(
                    "a middleware failed on this message; it is not acknowledged and will run again",
                    message_id=message.message_id,
                    actor=message.actor_name,
                )
                return
            script_keys = [self._acks(queue_name), keys.dramatiq_messages(queue_name)]
            args = [message_id, repr(time.time()), encode(operations)]
            try:
                mode, _ = self.wait_out(lambda: self._settle(keys=script_keys, args=args))
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.error(
                    "gave up settling a message while redis is unavailable; it will run again",
                    message_id=message.message_id,
                    actor=message.actor_name,
                    error_type=type(exc).__name__,
                    error=str(exc),
                )
                return
            if mode == b"taken back":
                log.warning(
                    "settled a message that had been requeued (this worker was presumed dead)",
                    message_id=message.message_id,
                    actor=message.actor_name,
                )
        finally:
            self.holdings.release(queue_name, [message_id])

    # Middleware hooks

    def add_middleware(
        self,
        middleware: Middleware,
        *,
        before: type[Middleware] | None = None,
        after: type[Middleware] | None = None,
    ) -> None:
        super().add_middleware(middleware, before=before, after=after)
        self._hooks.clear()

    def _hooks_for(self, name: str) -> list[tuple[Middleware, Callable[..., Any]]]:
        """Each middleware with its ``name`` hook, in order, leaving out those whose hook is ``Middleware``'s
        own empty one: of the ten middleware a message passes, most have nothing to do at most signals,
        and each empty call, several signals a message, costs the worker ~1 µs."""
        hooks = self._hooks.get(name)
        if hooks is None:
            empty = getattr(Middleware, name, None)
            every = [(m, getattr(m, name)) for m in self.middleware]
            hooks = self._hooks[name] = [(m, h) for m, h in every if getattr(h, "__func__", h) is not empty]
        return hooks

    def emit_before(self, signal: str, *args: Any, **kwargs: Any) -> None:
        """As Dramatiq's (a ``MiddlewareError``, such as ``SkipMessage``, goes on to the caller), without
        the calls to empty hooks."""
        for middleware, hook in self._hooks_for("before_" + signal):
            try:
                hook(self, *args, **kwargs)
            except MiddlewareError:
                raise
            except Exception:
                self.logger.critical(
                    "Unexpected failure in before_%s of %r.", signal, middleware, exc_info=True
                )

    def emit_after(self, signal: str, *args: Any, **kwargs: Any) -> None:
        """As Dramatiq's, without the calls to empty hooks, but a middleware that fails while a message is
        processed leaves the message unacknowledged (its outcome is unknown) instead of being only logged."""
        for middleware, hook in reversed(self._hooks_for("after_" + signal)):
            try:
                hook(self, *args, **kwargs)
            except Exception:
                log.error(
                    "middleware failed",
                    hook="after_" + signal,
                    middleware=type(middleware).__name__,
                    exc_info=True,
                )
                if signal in ("process_message", "skip_message"):
                    with self._lock:
                        self._unsure.add(args[0].options["redis_message_id"])

    # Enqueuing

    def enqueue(self, message: dramatiq.Message[Any], *, delay: int | None = None) -> dramatiq.Message[Any]:
        """Enqueue ``message``; with ``delay`` (ms) it waits in Redis until due. A delayed message that
        carries the id of a message this worker runs (``Retries``' retry of it, or the inline first
        attempt's handover) is scheduled with that message's acknowledgement."""
        current = message.options.get("redis_message_id")
        message = message.copy(options={"redis_message_id": str(uuid.uuid4())})
        event_id, slot = _carrier(message)
        operation: Operation
        if delay is None:
            operation = {"op": "enqueue", "queue": message.queue_name}
        else:
            # The ledger keeps each attempt's traceback; a waiting message need not carry one.
            message.options.pop("traceback", None)
            operation = {"op": "schedule", "due": int(time.time() * 1000) + delay}
        message_id = message.options["redis_message_id"]
        operation.update(id=message_id, message=message.encode().decode(), event=event_id, slot=slot)
        self.emit_before("enqueue", message, delay)
        if delay is not None and current is not None and self.holdings.holds(current):
            self.record(current, operation)
        else:
            self._settle(keys=["-", "-"], args=["", repr(time.time()), encode([operation])])
        self.emit_after("enqueue", message, delay)
        return message


def _carrier(message: dramatiq.Message[Any]) -> tuple[str, str]:
    """The event and slot a message carries: ("evt_…", "dispatch") or ("evt_…", consumer)."""
    if message.actor_name == keys.DISPATCH_ACTOR:
        return str(message.args[0]), "dispatch"
    if message.actor_name == keys.DELIVER_ACTOR:
        return str(message.args[0]), str(message.args[1])
    return "", ""
