"""``hookgate worker``: Dramatiq workers consuming the events the gateway enqueued."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import dramatiq
import structlog

from gateway.alerts.service import AlertService
from gateway.config import Settings
from gateway.platform import tracing
from gateway.processes import bootstrap
from gateway.record.writer import RecordService, announce
from gateway.store import keys
from gateway.store.lanes import Lanes
from gateway.worker.lanes import lane_configs
from gateway.worker.reconciler import Reconciler, ReconcilerService

log = structlog.get_logger("hookgate.worker")


def start_worker(settings: Settings, *, threads: int | None = None) -> dramatiq.Worker:
    """Build the worker's parts (``bootstrap``), add its services and start consuming."""
    tracing.start(settings.tracing)  # before the actors and forwards are built: they trace if it is on
    parts = bootstrap.build(settings, "worker")
    client, broker, actors, registry = parts.client, parts.broker, parts.actors, parts.registry
    assert broker is not None and actors is not None
    if names := [c.name for c in registry]:  # so operators' replays can name them (operate.replay)
        client.sadd(keys.KNOWN_CONSUMERS, *names)
    announce(client, settings)  # the Lua scripts track changes for the record only while it is on
    effective_threads = threads or settings.worker.threads
    Lanes(client).announce(lane_configs(settings, registry, threads=effective_threads))
    if settings.record is not None:
        broker.add_middleware(RecordService(client, settings))
    reconciler = Reconciler(client, actors, registry, settings.worker.reconcile_after_seconds)
    broker.add_middleware(ReconcilerService(reconciler, client))
    broker.add_middleware(AlertService(client, settings))
    worker = dramatiq.Worker(
        broker,
        worker_threads=effective_threads,
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
    _wait_for_a_stop_signal()
    log.info("worker stopping: finishing or requeueing in-flight messages")
    worker.stop()
    worker.broker.close()
    tracing.stop()
    return 0


def _wait_for_a_stop_signal() -> None:
    """Block until SIGINT or SIGTERM. The handlers do nothing: the interpreter writes each signal to a
    wake-up pipe, which is read here. A handler that set a ``threading.Event`` could deadlock when a
    second signal (a process-group kill and a parent's forward) ran it again while the first held the
    Event's lock."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous = signal.set_wakeup_fd(write_end)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    wanted = {int(signal.SIGINT), int(signal.SIGTERM)}
    try:
        while os.read(read_end, 1)[0] not in wanted:  # another signal with a Python handler: not ours
            pass
    finally:
        signal.set_wakeup_fd(previous)
        os.close(read_end)
        os.close(write_end)


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
