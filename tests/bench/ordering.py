#!/usr/bin/env python3
"""Ordering benchmark: a backlog of events through a forward ordered per key (1,000 keys) against the
same forward unordered, in one run, on one redis-server and worker; then the hot key (every event on one
key, so strictly one at a time). Run against a target that takes 5-50 ms (the issue's) and against one
that answers at once (what ordering itself costs: a deliver message per event instead of the inline
first attempt, and the Lua steps). Ordered and unordered alternate over ``--rounds``; prints the median
events/s and the ratios. ``make bench`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.config import RedisSettings, RetentionSettings  # noqa: E402
from gateway.platform.connections import async_client  # noqa: E402
from gateway.processes.dev import EmbeddedRedis  # noqa: E402
from gateway.store.ingest import Incoming, Ingestor  # noqa: E402
from gateway.store.lanes import LaneConfig, Lanes  # noqa: E402
from tests.bench.processing import start_worker  # noqa: E402
from tests.integration.ordering import FlakyTarget, check_order, stored_order  # noqa: E402

SOURCE = """
[sources.{source}]
provider = "github"
secret = "bench-secret"
"""
FORWARD = """
[[forward]]
name = "{name}"
source = "{source}"
url = "{url}"
max_in_flight = {bound}
{ordering}
"""
WORKER = """
[worker]
threads = {threads}
idle_poll_ms = 10
delay_poll_ms = 20
"""


async def store(url: str, source: str, total: int, keys: int) -> list[str]:
    """``total`` events of ``source`` stored as the gateway stores them, customer ``n % keys``, in order."""
    client = async_client(RedisSettings(url=url))
    ingestor = Ingestor(client, RetentionSettings(), timeout=5)
    ids: list[str] = []
    for start in range(0, total, 200):

        async def one(n: int) -> str:
            body = json.dumps({"customer": f"cus_{n % keys}", "n": n}).encode()
            incoming = Incoming(source, body, [("content-type", "application/json")], f"{source}-{n}", "push")
            return (await ingestor.put_if_new(incoming)).event_id

        ids += await asyncio.gather(*(one(n) for n in range(start, min(start + 200, total))))
    await client.aclose()
    return ids


def run(
    url: str, folder: Path, name: str, events: int, keys: int, *, ordered: bool, args: argparse.Namespace
) -> tuple[float, int]:
    """Events/s of one forward draining a backlog of ``events`` (first to last success at the target),
    and, ordered, how many keys arrived out of stored order (must be 0)."""
    target = FlakyTarget(failure_rate=0.0, delay=args.delay, seed=1)
    source = f"bench-{name}"
    bound = args.threads * args.processes
    config = folder / f"{name}.toml"
    ordering = 'ordering = "body:customer"' if ordered else ""
    config.write_text(
        SOURCE.format(source=source)
        + FORWARD.format(name=name, source=source, url=target.url, bound=bound, ordering=ordering)
        + WORKER.format(threads=args.threads)
    )
    client = redis.Redis.from_url(url)
    client.flushall()
    if ordered:  # as the worker announces it at boot, so the backlog is stored in order
        Lanes(client).announce(
            {name: LaneConfig(max_in_flight=bound, ordering="body:customer", source=source)}
        )
    ids = asyncio.run(store(url, source, events, keys))
    worker = start_worker(url, config, processes=args.processes, level="error")
    try:
        deadline = time.monotonic() + 900
        while len(target.delivered()) < events:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"{name}: only {len(target.delivered())} of {events} delivered")
            time.sleep(0.05)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            print(f"{name}: the worker did not stop within 60 s of SIGTERM; killed", file=sys.stderr)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    attempts = target.attempts()
    target.close()
    first = min(a.arrived for a in attempts)
    last = max(a.answered for a in attempts)
    problems = 0
    if ordered:
        check = check_order(attempts, stored_order(client, set(ids)))
        problems = len(check.out_of_order) + len(check.overlaps)
    client.close()
    return events / (last - first), problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="events per ordered/unordered run")
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--hot-events", type=int, default=300, help="events of the hot-key run")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="ordered and unordered runs (medians shown)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", persistent=False)
        server.start()
        try:
            for label, delay in (("target 5-50 ms", (0.005, 0.05)), ("target at once", (0.0, 0.0))):
                args.delay = delay
                rates: dict[bool, list[float]] = {False: [], True: []}
                bad = 0
                for round_ in range(args.rounds):  # alternating, the order reversed every other round
                    for ordered in (False, True) if round_ % 2 == 0 else (True, False):
                        name = "ordered" if ordered else "unordered"
                        rate, problems = run(
                            server.url, Path(tmp), name, args.events, args.keys, ordered=ordered, args=args
                        )
                        rates[ordered].append(rate)
                        bad += problems
                hot, hot_bad = run(server.url, Path(tmp), "hot", args.hot_events, 1, ordered=True, args=args)
                unordered, ordered_rate = statistics.median(rates[False]), statistics.median(rates[True])
                rows.append((label, unordered, ordered_rate, bad, hot, hot_bad))
        finally:
            server.stop()
    workers = f"{args.processes} worker processes x {args.threads} threads"
    hot = f"hot key: {args.hot_events} events"
    print(
        f"ordering ({args.events} events over {args.keys} keys; {hot}; {workers}; "
        f"median of {args.rounds} alternating runs):"
    )
    print("  target            unordered     ordered (ratio)            hot key (ratio)")
    for label, unordered, ordered, bad, hot, hot_bad in rows:
        print(
            f"  {label:16s}  {unordered:6.0f}/s     {ordered:6.0f}/s ({ordered / unordered:4.2f})"
            f"          {hot:6.1f}/s ({hot / unordered:5.3f})"
        )
        if bad or hot_bad:
            print(f"  !! {bad + hot_bad} keys out of order or overlapping")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
