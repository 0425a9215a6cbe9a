"""``hookgate worker``: Dramatiq workers consuming the events the gateway enqueued."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import dramatiq
import structlog

import consumers
from gateway.alerts.service import AlertService
from gateway.config.settings import Settings
from gateway.operate import Operations
from gateway.operate.jobs import declare_replay_job
from gateway.platform import connections, tracing
from gateway.record.writer import RecordService, announce, connect_pool
from gateway.store import keys
from gateway.store.events import EventStore
from gateway.store.ledger import Ledger
from gateway.worker.actors import declare_actors
from gateway.worker.broker import build_broker
from gateway.worker.reconciler import Reconciler, ReconcilerService

log = structlog.get_logger("hookgate.worker")

#: Seconds a worker waits for any one Redis reply: a hung Redis becomes an error the worker waits out.
WORKER_REDIS_TIMEOUT = 10.0


def build_registry(settings: Settings) -> consumers.Registry:
    """The consumers this worker runs: the ``@consumer`` functions of ``[consumers] modules`` and one per
    ``[[forward]]`` entry (named by its ``name``), in a registry of its own (a second call builds the
    same one again)."""
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
        forwarder = Forwarder(
            forward.url,
            timeout_seconds=forward.timeout_seconds,
            headers=headers,
            sign_secret=forward.sign_secret.get_secret_value() if forward.sign_secret else None,
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
            )
        )
    return registry


def start_worker(settings: Settings, *, threads: int | None = None) -> dramatiq.Worker:
    """Build the broker, declare the actors, load the consumers and start consuming."""
    tracing.start(settings.tracing)  # before the actors and forwards are built: they trace if it is on
    client = connections.sync_client(settings.redis, timeout=WORKER_REDIS_TIMEOUT)
    broker = build_broker(settings, client)
    registry = build_registry(settings)
    events = EventStore(client, settings.retention.events_seconds)
    actors = declare_actors(broker, events, registry, Ledger(client), broker)
    if names := [c.name for c in registry]:  # so operators' replays can name them (operate.service)
        client.sadd(keys.KNOWN_CONSUMERS, *names)
    record = connect_pool(settings) if settings.record is not None else None
    declare_replay_job(broker, Operations(client, settings, actors=actors, record=record))
    announce(client, settings)  # the Lua scripts track changes for the record only while it is on
    if settings.record is not None:
        broker.add_middleware(RecordService(client, settings))
    reconciler = Reconciler(client, actors, registry, settings.worker.reconcile_after_seconds)
    broker.add_middleware(ReconcilerService(reconciler, client))
    broker.add_middleware(AlertService(client, settings))
    worker = dramatiq.Worker(
        broker,
        worker_threads=threads or settings.worker.threads,
        worker_timeout=settings.worker.idle_poll_ms,
    )
    worker.start()
    log.info(
        "worker started",
        threads=worker.worker_threads,
        consumers=[c.name for c in registry],
        queues=sorted(broker.get_declared_queues()),
    )
    return worker


def run_worker(settings: Settings, *, processes: int, threads: int | None, argv: list[str]) -> int:
    """Run until SIGINT/SIGTERM; several processes are children running one worker each."""
    if processes > 1:
        return _run_children(processes, argv)
    worker = start_worker(settings, threads=threads)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("worker stopping: finishing or requeueing in-flight messages")
    worker.stop()
    worker.broker.close()
    tracing.stop()
    return 0


def _run_children(processes: int, argv: list[str]) -> int:
    children = [
        subprocess.Popen([sys.executable, "-m", "gateway", *argv, "--processes", "1"])
        for _ in range(processes)
    ]

    def forward(signum: int, _: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    return max(child.wait() for child in children)
