"""The baseline for the processing benchmark: a bare Dramatiq no-op actor and worker, nothing of hookgate."""

from __future__ import annotations

import signal
import sys
import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker

NAMESPACE = "bench-bare"
QUEUE = "bare"


def declare(url: str) -> tuple[RedisBroker, dramatiq.Actor]:
    broker = RedisBroker(url=url, namespace=NAMESPACE)
    dramatiq.set_broker(broker)

    def noop(n: int) -> None:
        return None

    return broker, dramatiq.actor(actor_name="noop", queue_name=QUEUE, broker=broker)(noop)


def main(url: str, threads: int, poll_ms: int) -> None:
    broker, _ = declare(url)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=poll_ms)
    worker.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    worker.stop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
