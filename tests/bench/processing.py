#!/usr/bin/env python3
"""Processing benchmark: events/s through dispatch -> deliver with a no-op consumer in one worker process,
against a bare Dramatiq no-op actor on the same redis-server in the same run; the same with a filter on
every consumer (one that every event passes: what filtering costs), each rate the median of alternating
runs; then the idle pickup latency (from the gateway's 202 to the consumer starting). ``make bench`` runs
it after the ingest benchmark.
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


def drain_rate(
    client: redis.Redis, total: int, queues: list[str], start: subprocess.Popen[bytes] | None
) -> float:
    """Messages (or events) per second from the first fetch until every queue is empty and acked."""
    first_queue = keys.dramatiq_queue(queues[0]) if queues[0] != bare_worker.QUEUE else None
    list_key = first_queue or f"{bare_worker.NAMESPACE}:{bare_worker.QUEUE}"
    started = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        now = time.perf_counter()
        if started is None and client.llen(list_key) < total:
            started = now
        if started is not None and all(client.hlen(name) == 0 for name in queues_hashes(queues)):
            return total / (now - started)
        time.sleep(0.005)
    raise SystemExit("the queue did not drain within 10 minutes")


def queues_hashes(queues: list[str]) -> list[str]:
    if queues == [bare_worker.QUEUE]:
        return [f"{bare_worker.NAMESPACE}:{bare_worker.QUEUE}.msgs"]
    return [keys.dramatiq_messages(q) for q in queues]


def bare_rate(url: str, total: int, threads: int) -> float:
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
) -> tuple[float, subprocess.Popen[bytes]]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--threads", default="2,4,8", help="worker threads to compare at, comma-separated")
    parser.add_argument("--samples", type=int, default=100, help="pickup latency samples")
    parser.add_argument("--rounds", type=int, default=5, help="runs per source (their median is shown)")
    args = parser.parse_args()
    rows = []
    filtered: dict[tuple[int, str], float] = {}
    # Each source's rate is the median of ``--rounds`` runs, the sources alternating within a round (and
    # its order reversed every other round): with and without filters compared on the same machine state.
    sources = ["bench", "bench-filtered", "bench-fanout", "bench-filtered-fanout"]
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", persistent=False)
        server.start()
        try:
            for threads in [int(t) for t in args.threads.split(",")]:
                config = Path(tmp) / f"hookgate-{threads}.toml"
                config.write_text(CONFIG.format(threads=threads))
                redis.Redis.from_url(server.url).flushall()
                bare = bare_rate(server.url, args.events, threads)
                rates: dict[str, list[float]] = {source: [] for source in sources}
                for round_ in range(args.rounds):
                    for source in sources if round_ % 2 == 0 else reversed(sources):
                        redis.Redis.from_url(server.url).flushall()
                        rate, worker = hookgate_rate(server.url, config, args.events, source)
                        stop(worker)
                        rates[source].append(rate)
                median = {source: statistics.median(found) for source, found in rates.items()}
                filtered[threads, "bench-filtered"] = median["bench-filtered"]
                filtered[threads, "bench-filtered-fanout"] = median["bench-filtered-fanout"]
                rows.append((threads, median["bench"], median["bench-fanout"], bare))
            redis.Redis.from_url(server.url).flushall()
            _, worker = hookgate_rate(server.url, config, args.events)
            try:
                latencies = sorted(pickup_latency(server.url, config, args.samples))
            finally:
                stop(worker)
        finally:
            server.stop()
    print(
        f"processing ({args.events} events, 1 worker process, no-op consumer; "
        f"median of {args.rounds} alternating runs):"
    )
    print("  one consumer: first attempt inside dispatch; two consumers: dispatch fans out two delivers")
    print("  (ratios to bare Dramatiq's messages/s; two consumers' per delivery: two deliveries an event)")
    print("  threads   one consumer (ratio)      two consumers (ratio)     bare Dramatiq no-op actor")
    for threads, ours, fanned, bare in rows:
        one = f"{ours:7.0f} events/s ({ours / bare:4.2f})"
        two = f"{fanned:7.0f} events/s ({2 * fanned / bare:4.2f})"
        print(f"  {threads:7d}   {one}   {two}   {bare:7.0f} messages/s")
    print("with a filter on every consumer (a body and a header clause every event passes):")
    print("  threads   one consumer (vs none)    two consumers (vs none)")
    for threads, ours, fanned, _ in rows:
        one_f, two_f = filtered[threads, "bench-filtered"], filtered[threads, "bench-filtered-fanout"]
        one = f"{one_f:7.0f} events/s ({one_f / ours:4.2f})"
        two = f"{two_f:7.0f} events/s ({two_f / fanned:4.2f})"
        print(f"  {threads:7d}   {one}   {two}")
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"pickup latency, idle worker, 202 -> consumer start ({len(latencies)} deliveries, "
        f"{rows[-1][0]} threads):\n"
        f"  p50 {quantiles[49]:.1f} ms  p90 {quantiles[89]:.1f} ms  p99 {quantiles[98]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
