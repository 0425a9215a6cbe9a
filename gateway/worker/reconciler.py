"""The reconciler, invariant 2's safety net: an event that has stayed unsettled (queued, processing,
retrying) for ``[worker] reconcile_after_seconds`` with no message anywhere gets its message back.

Every message that carries an event is recorded as the carrier of a slot (the dispatch, or one consumer;
``hg:carrier:{event}``), and a message's data stays in Redis while it is queued, held by a worker,
waiting, held by its lane or parked until its key's turn. So a slot is lost when its carrier's data is
gone from all of them. Unsettled events are indexed by the time of their last change (``hg:unsettled``);
each pass looks only at those quiet for longer than the bound, and each one it looks at waits another
bound before it is looked at again. In a healthy system it repairs nothing; every repair is logged as a
warning and counted.

One process at a time runs it: any worker may, a Redis lease elects one, and another takes over within
a few seconds of its death.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable

import dramatiq
import redis
import structlog

from consumers.registry import Registry
from gateway.platform import metrics
from gateway.platform.periodic import Periodic
from gateway.store import keys, scripts
from gateway.store.lease import Lease
from gateway.store.ledger import Attempt
from gateway.worker.actors import Actors

log = structlog.get_logger("hookgate.reconciler")

_UNSETTLED_STATES = {"queued", "processing", "retrying"}
_SETTLED_STATUSES = {"processed", "dead", "unrouted", "filtered"}
_MESSAGE_HASHES = (
    keys.dramatiq_messages(keys.DISPATCH_QUEUE),
    keys.dramatiq_messages(keys.DELIVER_QUEUE),
    keys.WAITING_MESSAGES,
    keys.HELD_MESSAGES,  # held by a lane, or parked until its key's turn
)


class Reconciler:
    """Finds unsettled events whose messages are lost and enqueues them again."""

    #: Events looked at per round trip.
    BATCH = 200

    def __init__(
        self,
        client: redis.Redis,
        actors: Actors,
        registry: Registry,
        after_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._actors = actors
        self._registry = registry
        self.after_seconds = after_seconds
        self._clock = clock
        self._repair = scripts.register(client, "repair")

    def run(self) -> int:
        """One pass over the events quiet for longer than the bound; how many slots were repaired."""
        now = self._clock()
        repaired = 0
        while True:
            found: list[bytes] = self._client.zrangebyscore(  # type: ignore[assignment]
                keys.UNSETTLED, "-inf", repr(now - self.after_seconds), start=0, num=self.BATCH
            )
            batch = [raw.decode() for raw in found]
            if not batch:
                return repaired
            repaired += self._check(batch, now)
            if len(batch) < self.BATCH:
                return repaired

    def _check(self, event_ids: list[str], now: float) -> int:
        with self._client.pipeline(transaction=False) as pipe:
            for event_id in event_ids:
                pipe.hmget(keys.event(event_id), ["status", "source", "event_type"])
                pipe.hgetall(keys.consumer_states(event_id))
                pipe.hgetall(keys.carriers(event_id))
            replies = pipe.execute()
        events = []
        for i, event_id in enumerate(event_ids):
            (status, source, event_type), states, carriers = replies[i * 3 : i * 3 + 3]
            states = {k.decode(): v.decode() for k, v in states.items()}
            carriers = {k.decode(): v.decode() for k, v in carriers.items()}
            events.append((event_id, status and status.decode(), source, event_type, states, carriers))
        alive = self._alive(
            {c for _, status, _, _, _, carriers in events if status for c in carriers.values()}
            | set(event_ids)
        )
        settled, healthy, repaired = [], [], 0
        for event_id, status, source, event_type, states, carriers in events:
            if status is None or status in _SETTLED_STATUSES:
                settled.append(event_id)
                continue
            lost = self._lost_slots(event_id, states, carriers, alive)
            if not lost:
                healthy.append(event_id)
                continue
            repaired += self._repair_event(
                event_id, (source or b"").decode(), (event_type or b"").decode(), lost, carriers, now
            )
        with self._client.pipeline(transaction=False) as pipe:
            if settled:
                pipe.zrem(keys.UNSETTLED, *settled)
            if healthy:  # look again one bound from now
                pipe.zadd(keys.UNSETTLED, dict.fromkeys(healthy, now), xx=True)
            pipe.execute()
        return repaired

    def _alive(self, message_ids: set[str]) -> set[str]:
        """Which of these messages exist: queued, held by a worker, waiting, or held (or parked)."""
        ordered = sorted(message_ids)
        with self._client.pipeline(transaction=False) as pipe:
            for message_id in ordered:
                for messages in _MESSAGE_HASHES:
                    pipe.hexists(messages, message_id)
            found = pipe.execute()
        n = len(_MESSAGE_HASHES)
        return {m for i, m in enumerate(ordered) if any(found[i * n : (i + 1) * n])}

    @staticmethod
    def _lost_slots(
        event_id: str, states: dict[str, str], carriers: dict[str, str], alive: set[str]
    ) -> list[str]:
        """The slots that need a new message: none while the dispatch is on its way (it routes all
        consumers again); the dispatch when no consumer is on its way; else each consumer on its way
        whose carrier is gone."""
        if carriers.get("dispatch", event_id) in alive:
            return []
        pending = sorted(c for c, state in states.items() if state in _UNSETTLED_STATES)
        if not pending:
            return ["dispatch"]
        return [c for c in pending if carriers.get(c) not in alive]

    def _repair_event(
        self,
        event_id: str,
        source: str,
        event_type: str,
        slots: list[str],
        carriers: dict[str, str],
        now: float,
    ) -> int:
        args: list[str | float] = [event_id, repr(now)]
        for slot in slots:
            if slot == "dispatch":
                message = self._actors.dispatch_message(event_id, source, event_type or None)
                seen, queue, record = carriers.get("dispatch", event_id), keys.DISPATCH_QUEUE, ""
            else:
                consumer = self._registry.get(slot)
                if consumer is not None:
                    message = self._actors.deliver_message(event_id, consumer)
                else:  # not loaded in this worker: a bare delivery for whichever worker has it
                    message = self._actors.deliver.message(event_id, slot).copy(
                        options={"redis_message_id": str(uuid.uuid4())}
                    )
                seen, queue = carriers.get(slot, ""), keys.DELIVER_QUEUE
                record = Attempt(now, slot, 0, "repaired").encode()
            args += [
                slot,
                seen,
                queue,
                message.options["redis_message_id"],
                message.encode().decode(),
                record,
            ]
        repaired = [raw.decode() for raw in self._repair(args=args)]
        if repaired:
            metrics.RECONCILER_REPAIRS.inc(len(repaired))
            log.warning(
                "reconciler re-enqueued a lost message",
                event_id=event_id,
                source=source,
                slots=repaired,
                quiet_for_s=self.after_seconds,
            )
        return len(repaired)


class ReconcilerService(Periodic):
    """Runs the reconciler on the worker that holds the lease, every quarter of its bound (1-30 s); the
    lease lapses three rounds (at least 5 s) after its holder's last one."""

    name = "reconciler"

    def __init__(self, reconciler: Reconciler, client: redis.Redis) -> None:
        super().__init__(min(max(reconciler.after_seconds / 4, 1.0), 30.0))
        self.reconciler = reconciler
        self.lease = Lease(client, "reconciler", ttl_seconds=max(3 * self.interval, 5.0))

    def tick(self) -> None:
        if self.lease.acquire():
            self.reconciler.run()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        super().before_worker_shutdown(broker, worker)
        with contextlib.suppress(redis.RedisError):
            self.lease.release()  # another worker takes over at its next tick
