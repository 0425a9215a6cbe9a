#!/usr/bin/env python3
"""Processing benchmark: events/s through dispatch -> deliver with a no-op consumer in one worker process,
against a bare Dramatiq no-op actor on the same redis-server in the same run; the same with a filter on
every consumer (one that every event passes: what filtering costs); then the idle pickup latency (from
the gateway's 202 to the consumer starting). ``make bench`` runs it after the ingest benchmark.

Every round runs bare Dramatiq and the four hookgate cases one after the other (the order reversed every
other round). A ratio is the median of each round's own ratio, so a machine that is slower for a while
slows both sides of it; the worker's CPU time per event, which noise from other processes hardly moves,
is shown beside each rate.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import NamedTuple

import httpx
import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.config import RedisSettings, RetentionSettings  # noqa: E402
from gateway.platform.connections import async_client  # noqa: E402
from gateway.processes.dev import EmbeddedRedis, free_port  # noqa: E402
from gateway.store import keys  # noqa: E402
from gateway.store.ingest import Incoming, Ingestor  # noqa: E402
from gateway.store.ledger import Ledger  # noqa: E402
from tests.bench import bare_worker  # noqa: E402

SECRET = b"bench-secret"
CONFIG = """
[sources.bench]
provider = "github"
secret = "bench-secret"

[sources.bench-fanout]
provider = "github"
secret = "bench-secret"

[sources.bench-filtered]
provider = "github"
secret = "bench-secret"

[sources.bench-filtered-fanout]
provider = "github"
secret = "bench-secret"

[consumers]
modules = ["tests.bench.noop_consumer"]

[worker]
threads = {threads}
"""


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def start_worker(
    url: str, config: Path, *, processes: int = 1, level: str = "warning"
) -> subprocess.Popen[bytes]:
    """``hookgate worker --config CONFIG`` on ``url``, its output discarded, in its own process group."""
    command = [sys.executable, "-m", "gateway", "worker", "--config", str(config)]
    return spawn(
        [*command, "--processes", str(processes)],
        {"HOOKGATE_REDIS__URL": url, "HOOKGATE_LOGGING__LEVEL": level},
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


class Run(NamedTuple):
    rate: float  #: messages (or events) per second
    cpu_ms: float  #: the worker process's CPU milliseconds per message (or event)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process ``pid`` has used (its threads included)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain_rate(client: redis.Redis, total: int, queues: list[str], worker: subprocess.Popen[bytes]) -> Run:
    """From the first fetch until every queue is empty and acked: the rate, the worker's CPU a message."""
    first_queue = keys.dramatiq_queue(queues[0]) if queues[0] != bare_worker.QUEUE else None
    list_key = first_queue or f"{bare_worker.NAMESPACE}:{bare_worker.QUEUE}"
    started = None
    cpu_at_start = 0.0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        now = time.perf_counter()
        if started is None and client.llen(list_key) < total:
            started, cpu_at_start = now, cpu_seconds(worker.pid)
        if started is not None and all(client.hlen(name) == 0 for name in queues_hashes(queues)):
            cpu = cpu_seconds(worker.pid) - cpu_at_start
            return Run(total / (now - started), cpu * 1000 / total)
        time.sleep(0.005)
    raise SystemExit("the queue did not drain within 10 minutes")


def queues_hashes(queues: list[str]) -> list[str]:
    if queues == [bare_worker.QUEUE]:
        return [f"{bare_worker.NAMESPACE}:{bare_worker.QUEUE}.msgs"]
    return [keys.dramatiq_messages(q) for q in queues]


def bare_rate(url: str, total: int, threads: int) -> Run:
    broker, actor = bare_worker.declare(url)
    for n in range(total):
        actor.send(n)
    broker.close()
    client = redis.Redis.from_url(url)
    worker = spawn([sys.executable, "-m", "tests.bench.bare_worker", url, str(threads), "25"], {})
    try:
        return drain_rate(client, total, [bare_worker.QUEUE], worker)
    finally:
        stop(worker)


async def store_events(url: str, total: int, source: str = "bench", first: int = 0) -> list[str]:
    """Store ``total`` events as the gateway does, delivery ids ``d-{first}`` on."""
    client = async_client(RedisSettings(url=url))
    ingestor = Ingestor(client, RetentionSettings(), timeout=5)
    ids: list[str] = []

    async def one(n: int) -> None:
        stored = await ingestor.put_if_new(
            Incoming(
                source, b'{"n": %d}' % n, [("content-type", "application/json")], f"d-{first + n}", "push"
            )
        )
        ids.append(stored.event_id)

    for start in range(0, total, 500):
        await asyncio.gather(*(one(n) for n in range(start, min(start + 500, total))))
    await client.aclose()
    return ids


def hookgate_rate(
    url: str, config: Path, total: int, source: str = "bench"
) -> tuple[Run, subprocess.Popen[bytes]]:
    ids = asyncio.run(store_events(url, total, source))
    client = redis.Redis.from_url(url)
    worker = start_worker(url, config)
    rate = drain_rate(client, total, [keys.DISPATCH_QUEUE, keys.DELIVER_QUEUE], worker)
    with client.pipeline(transaction=False) as pipe:
        for event_id in ids:
            pipe.hget(keys.event(event_id), "status")
        statuses = pipe.execute()
    processed = sum(1 for s in statuses if s == b"processed")  # a filter that declined: "filtered"
    if processed != total:
        raise SystemExit(f"only {processed} of {total} events were processed")
    return rate, worker


def pickup_latency(url: str, config: Path, samples: int) -> list[float]:
    """Milliseconds from the 202 to the consumer starting, for deliveries sent to an idle worker."""
    port = free_port()
    gateway = spawn(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        {"HOOKGATE_REDIS__URL": url, "HOOKGATE_LOGGING__LEVEL": "warning"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=0.5)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("the gateway did not start") from None
                time.sleep(0.1)
        answered: dict[str, float] = {}
        with httpx.Client() as http:
            for _ in range(samples):
                time.sleep(random.uniform(0.2, 0.4))  # let the worker go idle again
                body = json.dumps({"id": str(uuid.uuid4())}).encode()
                headers = {
                    "X-GitHub-Event": "push",
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
                }
                response = http.post(f"{base}/webhooks/bench", content=body, headers=headers)
                answered[response.json()["event_id"]] = time.time()
        time.sleep(1)
    finally:
        stop(gateway)
    ledger = Ledger(redis.Redis.from_url(url))
    latencies = []
    for event_id, at in answered.items():
        started = [a["at"] for a in ledger.attempts(event_id) if a["outcome"] == "started"]
        if not started:
            raise SystemExit(f"{event_id} was never picked up")
        latencies.append((started[0] - at) * 1000)
    return latencies


#: Every case, in the order of a round (reversed every other round).
CASES = ["bare", "bench", "bench-filtered", "bench-fanout", "bench-filtered-fanout"]


def paired(runs: dict[str, list[Run]], case: str, against: str, *, per: float = 1.0) -> str:
    """The median of each round's ratio of ``case``'s rate to ``against``'s (times ``per``), its range,
    and the same for the worker's CPU per event."""
    rates = [per * a.rate / b.rate for a, b in zip(runs[case], runs[against], strict=True)]
    cpus = [a.cpu_ms / b.cpu_ms for a, b in zip(runs[case], runs[against], strict=True) if b.cpu_ms]
    cpu = f"CPU {statistics.median(cpus):4.2f}" if cpus else "CPU  n/a"
    return f"{statistics.median(rates):4.2f} ({min(rates):4.2f}-{max(rates):4.2f}), {cpu}"


def rate_and_cpu(found: list[Run]) -> str:
    rate = statistics.median(r.rate for r in found)
    return f"{rate:6.0f}/s {statistics.median(r.cpu_ms for r in found):5.3f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--threads", default="2,4,8", help="worker threads to compare at, comma-separated")
    parser.add_argument("--samples", type=int, default=100, help="pickup latency samples")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each running every case once")
    args = parser.parse_args()
    results: dict[int, dict[str, list[Run]]] = {}
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", persistent=False)
        server.start()
        try:
            for threads in [int(t) for t in args.threads.split(",")]:
                config = Path(tmp) / f"hookgate-{threads}.toml"
                config.write_text(CONFIG.format(threads=threads))
                runs: dict[str, list[Run]] = {case: [] for case in CASES}
                for round_ in range(args.rounds):
                    for case in CASES if round_ % 2 == 0 else reversed(CASES):
                        redis.Redis.from_url(server.url).flushall()
                        if case == "bare":
                            runs[case].append(bare_rate(server.url, args.events, threads))
                        else:
                            run, worker = hookgate_rate(server.url, config, args.events, case)
                            stop(worker)
                            runs[case].append(run)
                results[threads] = runs
            redis.Redis.from_url(server.url).flushall()
            _, worker = hookgate_rate(server.url, config, args.events)
            try:
                latencies = sorted(pickup_latency(server.url, config, args.samples))
            finally:
                stop(worker)
        finally:
            server.stop()
    print(
        f"processing ({args.events} events, 1 worker process, no-op consumer; {args.rounds} rounds, each "
        "running every case once):"
    )
    print("  one consumer: first attempt inside dispatch; two consumers: dispatch fans out two delivers.")
    print("  Rate and the worker's CPU per event: medians of the rounds. Ratio to bare Dramatiq: the median")
    print("  of the rounds' own ratios (their range), two consumers' per delivery (two an event); CPU: the")
    print("  same for our CPU per event over bare's per message.")
    for threads, runs in results.items():
        print(f"  {threads} threads:")
        print(f"    bare Dramatiq no-op actor {rate_and_cpu(runs['bare'])} a message")
        for label, case, per in (("one consumer ", "bench", 1.0), ("two consumers", "bench-fanout", 2.0)):
            ratio = paired(runs, case, "bare", per=per)
            print(f"    {label}             {rate_and_cpu(runs[case])} an event  ratio {ratio}")
    print("with a filter on every consumer (a body and a header clause every event passes), against none:")
    for threads, runs in results.items():
        print(f"  {threads} threads:")
        for label, case, filtered in (
            ("one consumer ", "bench", "bench-filtered"),
            ("two consumers", "bench-fanout", "bench-filtered-fanout"),
        ):
            print(f"    {label}  {rate_and_cpu(runs[filtered])}  ratio {paired(runs, filtered, case)}")
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"pickup latency, idle worker, 202 -> consumer start ({len(latencies)} deliveries, "
        f"{list(results)[-1]} threads):\n"
        f"  p50 {quantiles[49]:.1f} ms  p90 {quantiles[89]:.1f} ms  p99 {quantiles[98]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
