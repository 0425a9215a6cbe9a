#!/usr/bin/env python3
"""Stats time with a large store: ``events stats`` / ``GET /api/v1/stats`` over 100,000 stored events,
a tenth of them dead-lettered. ``make bench`` runs it; prints p50 and p95 of the call."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.config import Settings  # noqa: E402
from gateway.operate import stats as use_stats  # noqa: E402
from gateway.processes import bootstrap  # noqa: E402
from gateway.processes.dev import EmbeddedRedis  # noqa: E402
from gateway.store.ledger import Ledger  # noqa: E402
from tests.bench.processing import store_events  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", persistent=False)
        server.start()
        try:
            ids = asyncio.run(store_events(server.url, args.events))
            ledger = Ledger(redis.Redis.from_url(server.url))
            for event_id in ids[: args.events // 10]:
                ledger.failed(event_id, "bench.noop", 1, "ValueError: no", rejected=False, final=True)
            settings = Settings.model_validate({"redis": {"url": server.url}})
            operations = bootstrap.build(settings, "cli", enqueue=False).operate
            timings = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                stats = use_stats.summary(operations)
                timings.append((time.perf_counter() - started) * 1000)
        finally:
            server.stop()
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    print(f"stats over {args.events} events ({stats['by_status']}):")
    print(f"  p50 {statistics.median(timings):.1f} ms  p95 {p95:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
