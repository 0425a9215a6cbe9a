"""Destination lanes end to end: a destination that hangs or fails costs the others nothing, its
deliveries are held (not retried to death, not dead-lettered) while its breaker is open, and arrive
exactly once when it is back; a throttled destination is called at its rate; pause and resume.

One worker with 8 threads, real gateway and worker processes, a local HTTP target (``Sink``).
``LANE_EVENTS`` scales the load (``make chaos`` runs the long variant).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from gateway.store import keys
from gateway.store.lanes import Lanes
from tests.helpers import Gateway, Process, forward, post, wait_for, write_config
from tests.integration.sink import Sink

EVENTS = int(os.environ.get("LANE_EVENTS", "200"))
RATE = 40  # signed deliveries per second
WORKER = "\n[worker]\nthreads = 8\nidle_poll_ms = 10\ndelay_poll_ms = 20\n"
BREAKER = {"failures": 5, "cooldown": "2s", "max_cooldown": "4s"}


def send(gateway: Gateway, count: int, rate: float = RATE) -> dict[str, float]:
    """Post ``count`` signed deliveries at ``rate`` per second; each event id with its 202's time."""
    accepted: dict[str, float] = {}
    lock = threading.Lock()

    def one(_: int) -> None:
        event_id = post(gateway.url)
        with lock:
            accepted[event_id] = time.time()

    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        for i in range(count):
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            pool.submit(one, i)
    assert len(accepted) == count
    return accepted


def latencies(sink: Sink, path: str, accepted: dict[str, float]) -> list[float]:
    """202 → first arrival at ``path``, per event."""
    first: dict[str, float] = {}
    for received in sink.to(path):
        event_id = received.header("X-Hookgate-Event-Id") or ""
        first.setdefault(event_id, received.at)
    return [first[e] - at for e, at in accepted.items() if e in first]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def arrived_once(sink: Sink, path: str, accepted: dict[str, float]) -> None:
    """Every accepted event reached ``path``, each with one idempotency key (a redelivery after a
    timeout carries the same key, so the destination can drop it)."""
    keys_by_event: dict[str, set[str]] = {}
    for received in sink.to(path):
        keys_by_event.setdefault(received.header("X-Hookgate-Event-Id") or "", set()).add(
            received.header("Idempotency-Key") or ""
        )
    missing = set(accepted) - set(keys_by_event)
    assert not missing, f"{len(missing)} events never reached {path}"
    assert all(len(k) == 1 for k in keys_by_event.values())


@pytest.fixture
def lanes_stack(
    tmp_path, redis_url, sink: Sink, start_gateway, start_worker
) -> Callable[..., tuple[Gateway, Process, redis.Redis]]:
    def start(**dead: object) -> tuple[Gateway, Process, redis.Redis]:
        config = write_config(
            tmp_path,
            forward("healthy", sink.url("/healthy")) + forward("dead", sink.url("/dead"), **dead) + WORKER,
        )
        client = redis.Redis.from_url(redis_url)
        return start_gateway(redis_url, config=config), start_worker(redis_url, config=config), client

    return start


def baseline(gateway: Gateway, sink: Sink) -> float:
    """The healthy destination's p99 while both answer at once."""
    accepted = send(gateway, EVENTS // 2)
    wait_for(lambda: len(latencies(sink, "/healthy", accepted)) == len(accepted), 30, "baseline")
    return p99(latencies(sink, "/healthy", accepted))


@pytest.mark.parametrize("failure", ["hang", "500"])
def test_a_destination_that_is_down_costs_the_others_nothing_and_loses_nothing(
    lanes_stack, sink: Sink, failure: str
) -> None:
    gateway, _, client = lanes_stack(breaker=BREAKER, timeout_seconds=1)
    normal = baseline(gateway, sink)
    before = len(sink.to("/dead"))

    # The dead destination stops answering (held past its 1 s timeout), or fails at once.
    sink.plan("/dead", *(["hold"] if failure == "hang" else [500]) * 10_000)
    outage_started = time.time()
    accepted = send(gateway, EVENTS)
    wait_for(lambda: len(latencies(sink, "/healthy", accepted)) == EVENTS, 30, "healthy deliveries")
    healthy = p99(latencies(sink, "/healthy", accepted))
    assert healthy <= 2 * normal + 0.5, f"healthy p99 {healthy:.3f} s, {normal:.3f} s without the outage"

    lanes = Lanes(client)
    wait_for(lambda: lanes.status("dead").held > 0, 10, "deliveries held")
    status = lanes.status("dead")
    assert status.breaker_state in ("open", "half-open"), status

    # Back: every held delivery arrives exactly once by its key, none went to the DLQ.
    outage = time.time() - outage_started
    attempts_while_down = len(sink.to("/dead")) - before
    with sink._lock:
        sink._plans["/dead"] = []
    sink.release()
    cooldowns = outage / 2 + 1  # a probe per cool-down at most (they double, from 2 s to 4 s)
    print(  # shown with -s: the figures the README quotes
        f"\n{failure}: healthy p99 {healthy * 1000:.0f} ms (baseline {normal * 1000:.0f} ms),"
        f" {attempts_while_down} attempts at the dead destination in {outage:.1f} s, {status.held} held"
    )
    assert attempts_while_down <= BREAKER["failures"] + cooldowns, attempts_while_down
    wait_for(lambda: lanes.status("dead").held == 0 and lanes.status("dead").in_flight == 0, 60, "drained")
    wait_for(lambda: len(latencies(sink, "/dead", accepted)) == EVENTS, 30, "held deliveries")
    arrived_once(sink, "/dead", accepted)
    assert client.zcard(keys.DLQ_INDEX) == 0
    assert lanes.status("dead").state == "closed"


THROTTLED = int(os.environ.get("THROTTLE_EVENTS", "80"))


def _cpu_seconds(pgid: int) -> float:
    """User and system CPU time of every process in a process group (the worker and its children)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # the 5th field: the process group
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def test_a_throttled_destination_is_called_at_its_rate_by_every_worker_together(
    tmp_path, redis_url, sink: Sink, start_gateway, start_worker
) -> None:
    config = write_config(
        tmp_path,
        forward("slowly", sink.url("/slowly"), rate_limit="20/s", max_in_flight=16)
        + "\n[worker]\nprocesses = 2\nthreads = 8\nidle_poll_ms = 10\ndelay_poll_ms = 20\n",
    )
    gateway = start_gateway(redis_url, config=config)
    worker = start_worker(redis_url, config=config)
    wait_for(lambda: worker.output().count("worker started") >= 2, 20, "two worker processes")
    accepted = send(gateway, THROTTLED, rate=200)
    cpu_before, waited_from = _cpu_seconds(worker.proc.pid), time.monotonic()
    wait_for(lambda: len(sink.to("/slowly")) >= THROTTLED, THROTTLED / 20 + 20, "throttled deliveries")
    cpu = (_cpu_seconds(worker.proc.pid) - cpu_before) / (time.monotonic() - waited_from)

    arrivals = sorted(r.at for r in sink.to("/slowly"))
    busiest = max(sum(1 for t in arrivals[i:] if t < start + 1) for i, start in enumerate(arrivals))
    assert busiest <= 21, f"{busiest} deliveries in one second at 20/s"
    assert len(arrivals) == THROTTLED  # each once: none failed, none repeated
    arrived_once(sink, "/slowly", accepted)
    status = Lanes(redis.Redis.from_url(redis_url)).status("slowly")
    assert (status.failures, status.held, status.in_flight) == (0, 0, 0)
    # Waiting its turn is not a busy loop: two processes of 8 threads use little of a core between starts.
    assert cpu < 0.5, f"the workers used {cpu:.2f} of a core while deliveries waited their turn"


def test_a_paused_destination_receives_nothing_and_resume_drains_what_it_held(
    tmp_path, redis_url, lanes_stack, sink: Sink
) -> None:
    from tests.helpers import cli

    gateway, _, client = lanes_stack()
    config = str(tmp_path / "hookgate.toml")
    paused = cli("destinations", "pause", "dead", "--config", config, redis_url=redis_url)
    assert paused.returncode == 0, paused.stderr
    accepted = send(gateway, 40)
    wait_for(lambda: len(latencies(sink, "/healthy", accepted)) == 40, 20, "the other destination")
    time.sleep(1)
    assert sink.to("/dead") == []
    lanes = Lanes(client)
    assert (lanes.status("dead").state, lanes.status("dead").held) == ("paused", 40)

    resumed = cli("destinations", "resume", "dead", "--config", config, redis_url=redis_url)
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: len(sink.to("/dead")) == 40, 20, "what was held")
    arrived_once(sink, "/dead", accepted)
    assert lanes.status("dead").state == "closed"


def test_held_deliveries_survive_a_worker_sigkill_and_a_redis_restart(
    tmp_path, sink: Sink, start_gateway, start_worker
) -> None:
    """The breaker open and deliveries held when the worker is SIGKILLed and Redis restarts from its
    AOF: once the destination is back, every acked event reaches it, each under one idempotency key,
    and none was dead-lettered."""
    import signal

    from gateway.processes.dev import EmbeddedRedis
    from tests.conftest import start_redis

    config = write_config(
        tmp_path,
        forward("down", sink.url("/down"), breaker={"failures": 3, "cooldown": "1s", "max_cooldown": "2s"})
        + WORKER,
    )
    sink.plan("/down", *[500] * 10_000)
    server = start_redis(tmp_path / "redis")
    try:
        server_client = redis.Redis.from_url(server.url)
        gateway = start_gateway(server.url, config=config)
        worker = start_worker(server.url, config=config)
        accepted = send(gateway, 60, rate=100)
        lanes = Lanes(server_client)
        wait_for(lambda: lanes.status("down").held >= 50, 20, "deliveries held behind the open breaker")

        worker.stop(signal.SIGKILL)
        server.stop()  # SIGTERM: redis-server writes nothing more; the AOF has every acknowledged step
        server = EmbeddedRedis(server.data_dir, port=server.port)
        server.start()
        server_client = redis.Redis.from_url(server.url)
        lanes = Lanes(server_client)
        assert lanes.status("down").held >= 50, "held deliveries came back with Redis"

        with sink._lock:
            sink._plans["/down"] = []  # the destination is back
        start_worker(server.url, config=config)
        wait_for(lambda: len(latencies(sink, "/down", accepted)) == len(accepted), 60, "every held delivery")
        arrived_once(sink, "/down", accepted)
        assert server_client.zcard(keys.DLQ_INDEX) == 0
    finally:
        server.stop()
