"""The one place a process is wired: its Redis client, the broker, the event store, the actors, the
bulk-replay job and the operators' context, built for the process's role.

- ``worker``: the broker is Dramatiq's global one (set before any consumer module is imported, so an
  actor declared without a broker can never bind to Dramatiq's fallback on a default local port); the
  consumers of ``[consumers] modules`` and ``[[forward]]`` are loaded, and the actors run them.
- ``web`` and ``cli``: they only read, or enqueue (replay, a dead letter's retry, a bulk replay) through
  actors declared on a broker of their own, which never becomes Dramatiq's global broker; no consumer
  module is imported. Built without ``enqueue``, they have no broker at all.

Ingest does not go through here: the gateway stores and enqueues in one Lua step (``store.ingest``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import dramatiq
import redis

import consumers
from gateway.config import Settings
from gateway.operate.context import Context
from gateway.operate.jobs import declare_replay_job
from gateway.platform import connections
from gateway.record.writer import connect_pool
from gateway.store.events import EventStore
from gateway.store.ledger import Ledger
from gateway.worker.actors import Actors, declare_actors
from gateway.worker.broker import HookgateBroker, build_broker
from gateway.worker.lanes import orderings as lane_orderings

Role = Literal["worker", "web", "cli"]

#: Seconds a process waits for any one Redis reply: a hung Redis becomes an error it waits out.
REDIS_TIMEOUT = 10.0


@dataclass
class Parts:
    """What a process runs on. ``broker``, ``actors`` and ``replay_job`` are None for a process built
    without ``enqueue``."""

    role: Role
    client: redis.Redis
    registry: consumers.Registry
    operate: Context
    broker: HookgateBroker | None = None
    actors: Actors | None = None
    replay_job: dramatiq.Actor[..., None] | None = None


def build(settings: Settings, role: Role, *, enqueue: bool = True) -> Parts:
    """The parts of a ``role`` process; ``enqueue=False`` (web and cli only) builds no broker."""
    client = connections.sync_client(settings.redis, timeout=REDIS_TIMEOUT)
    record = connect_pool(settings) if settings.record is not None else None
    if not enqueue:
        if role == "worker":
            raise ValueError("a worker enqueues: it needs its broker")
        context = Context.build(client, settings, record=record)
        return Parts(role, client, consumers.Registry(), context)
    broker = build_broker(settings, client)
    orderings = None
    if role == "worker":
        dramatiq.set_broker(broker)  # before the consumer modules are imported
        registry = build_registry(settings)
        orderings = lane_orderings(settings, registry)
    else:
        registry = consumers.Registry()  # operators enqueue by consumer name; workers run them
    events = EventStore(client, settings.retention.events_seconds)
    actors = declare_actors(broker, events, registry, Ledger(client), broker, orderings)
    context = Context.build(client, settings, actors=actors, record=record)
    context.replay_job = declare_replay_job(broker, context)
    return Parts(role, client, registry, context, broker, actors, context.replay_job)


def build_registry(settings: Settings) -> consumers.Registry:
    """The consumers a worker runs: the ``@consumer`` functions of ``[consumers] modules`` and one per
    ``[[forward]]`` entry (named by its ``name``), in a registry of its own (a second call builds the
    same one again)."""
    from gateway.worker import transforms
    from gateway.worker.forward import Forwarder

    consumers.load_modules(settings.consumers.modules)
    registry = consumers.Registry()
    for consumer in consumers.registry:  # what the modules' decorators registered
        registry.add(consumer)
    for forward in settings.forward:
        try:
            headers = forward.resolved_headers()
        except ValueError as exc:
            raise consumers.ConsumerConfigError(f"forward {forward.name!r}: {exc}") from None
        transform = None
        if forward.transform is not None:
            try:
                transform = transforms.load(
                    forward.transform, timeout_seconds=forward.transform_timeout_seconds
                )
            except consumers.ConsumerConfigError as exc:
                raise consumers.ConsumerConfigError(f"forward {forward.name!r}: {exc}") from None
        forwarder = Forwarder(
            forward.url,
            timeout_seconds=forward.timeout_seconds,
            headers=headers,
            sign_secret=forward.sign_secret.get_secret_value() if forward.sign_secret else None,
            transform=transform,
        )
        registry.add(
            consumers.Consumer(
                forward.name,
                forward.source,
                forward.events,
                forwarder,
                forward.max_retries,
                forward.min_backoff_ms,
                forward.max_backoff_ms,
                filter=forward.filter,
            )
        )
    return registry
