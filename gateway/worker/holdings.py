"""What a worker holds, and giving back what it has lost track of.

Dramatiq's Redis broker moves each fetched message into the worker's ack set; the message leaves it when
acknowledged, or when the worker's heartbeat goes stale and another worker's maintenance requeues it.
A live worker can lose track of messages while its heartbeat goes on: a fetch whose reply was lost, a
consumer's prefetched messages dropped on a connection error, an outcome that could not be recorded. So
each worker remembers, per queue, the messages it holds in memory (fetched, queued for a thread, being
processed, being settled) and its consumer threads regularly give back the rest of their ack sets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import redis
import structlog
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.common import compute_backoff
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from gateway.platform.connections import is_outage
from gateway.store import keys

if TYPE_CHECKING:
    from gateway.worker.broker import HookgateBroker

log = structlog.get_logger("hookgate.worker")


class Holdings:
    """Message ids this worker holds in memory, per queue; shared by every thread of the worker."""

    def __init__(self) -> None:
        self._held: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def hold(self, queue: str, message_ids: Iterable[str]) -> None:
        with self._lock:
            self._held.setdefault(queue, set()).update(message_ids)

    def release(self, queue: str, message_ids: Iterable[str]) -> None:
        with self._lock:
            self._held.get(queue, set()).difference_update(message_ids)

    def holds(self, message_id: str) -> bool:
        """Whether this worker holds the message, from whichever queue."""
        with self._lock:
            return any(message_id in held for held in self._held.values())

    def count(self, queue: str) -> int:
        with self._lock:
            return len(self._held.get(queue, ()))

    def snapshot(self, queue: str) -> list[str]:
        with self._lock:
            return list(self._held.get(queue, ()))


class Fetched(MessageProxy):
    """A fetched message, with what its queue's read-ahead read for it (None: nothing, or not yet)."""

    def __init__(self, message: Message[Any]) -> None:
        super().__init__(message)
        self.read_ahead: object = None


class TrackingConsumer(Consumer):
    """Dramatiq's Redis consumer, plus: every fetched message is held until it is settled, requeued or
    dropped, and the ack set is reconciled with what is held when the consumer starts (after a
    connection error, Dramatiq starts a new one) and every ``give_back_seconds`` after.

    The give-back runs on this consumer's thread, the only one that fetches from its queue, so a message
    is never given back between its fetch and its holding.
    """

    def __init__(
        self, broker: HookgateBroker, queue_name: str, prefetch: int, timeout: int, give_back_seconds: float
    ) -> None:
        self.broker = broker
        self.queue_name = queue_name
        self.prefetch = prefetch
        self.timeout = timeout
        self.give_back_seconds = give_back_seconds
        self.misses = 0
        self._cache: list[MessageProxy] = []
        self._give_back_at = 0.0
        self._wake = keys.queue_wake(queue_name)

    def __next__(self) -> MessageProxy | None:
        try:
            if self._cache:
                return self._cache.pop(0)
            now = time.monotonic()
            if now >= self._give_back_at:
                self.broker.give_back(self.queue_name)
                self._give_back_at = now + self.give_back_seconds
            room = self.prefetch - self.broker.holdings.count(self.queue_name)
            if room <= 0:  # every thread has its hands full: look again soon, whatever joins the queue
                time.sleep(self._backoff())
                return None
            fetched = self._fetch(room)
            if fetched:
                self.misses = 0
                self._cache = fetched
                return self._cache.pop(0)
            # The queue is empty: wait on its wake list, where storing or queueing a message leaves a
            # token, polling progressively less often up to the idle timeout. (Redis ends a wait no sooner
            # than its next tick, 100 ms at its default hz, when nothing else wakes it.)
            try:
                if self.broker.client.blpop([self._wake], timeout=self._backoff()) is not None:
                    self.misses = 0
            except redis.TimeoutError:
                # The wait outlasted the socket's timeout (a Redis with a low hz); only a wait was lost,
                # and the next fetch finds out whether Redis is really away.
                pass
            return None
        except Exception as exc:
            if is_outage(exc):
                raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]
            raise

    def _backoff(self) -> float:
        """Seconds to wait before looking again: longer each time in a row, up to ``timeout``."""
        self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
        return max(backoff_ms, 1) / 1000

    def _fetch(self, room: int) -> list[MessageProxy]:
        """Up to ``room`` messages, held, and what the queue's read-ahead reads for them."""
        raw: list[bytes | None] = self.broker.do_fetch(self.queue_name, room)
        # A message whose data is gone (None) stays in the ack set until the next give-back drops it.
        messages = [Fetched(Message.decode(data)) for data in raw if data is not None]
        self.broker.holdings.hold(self.queue_name, (m.options["redis_message_id"] for m in messages))
        read_ahead = self.broker.read_ahead.get(self.queue_name)
        if read_ahead is not None and messages:
            try:
                read_ahead(messages)
            except Exception as exc:  # only an optimisation: each message's actor reads for itself
                if is_outage(exc):
                    log.debug("read-ahead failed", queue=self.queue_name, error_type=type(exc).__name__)
                else:
                    log.error("read-ahead failed", queue=self.queue_name, exc_info=True)
        return list(messages)

    def ack(self, message: MessageProxy) -> None:
        self.broker.settle(self.queue_name, message)

    def nack(self, message: MessageProxy) -> None:
        self.broker.settle(self.queue_name, message)

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        """Back to the queue, unprocessed (worker shutdown); on an outage, left to the give-back."""
        message_ids = [m.options["redis_message_id"] for m in messages]
        if not message_ids:
            return
        try:
            self.broker.do_requeue(self.queue_name, *message_ids)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning(
                "could not requeue; the messages go back when a worker next gives back",
                queue=self.queue_name,
                messages=len(message_ids),
                error_type=type(exc).__name__,
                error=str(exc),
            )
        finally:
            self.broker.holdings.release(self.queue_name, message_ids)

    def close(self) -> None:
        """Prefetched messages that no thread took go back to the queue."""
        cached, self._cache = self._cache, []
        self.requeue(cached)

    def __repr__(self) -> str:
        return f"TrackingConsumer({self.queue_name!r})"
