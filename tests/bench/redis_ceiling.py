#!/usr/bin/env python3
"""The scale limit of one deployment: ingest steps per second that one redis-server core sustains.

Every accepted delivery is one run of ``ingest.lua`` (dedupe, store a 4 KiB event, enqueue) on the
primary, and Dramatiq's Redis broker cannot use Redis Cluster, so this is the ceiling of one hookgate
stack however many gateways and workers it has. ``redis-benchmark`` (C, light) drives the script with
fresh delivery ids over 50 connections, pipelined, while the server's CPU time is read from /proc.
Needs redis-benchmark on PATH (Debian: redis-tools), else it says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.config import RetentionSettings  # noqa: E402
from gateway.processes.dev import EmbeddedRedis  # noqa: E402
from gateway.store import keys, scripts  # noqa: E402
from gateway.store.ingest import script_constants  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300_000)
    args = parser.parse_args()
    benchmark = shutil.which("redis-benchmark")
    if benchmark is None:
        print("redis ceiling bench skipped: no redis-benchmark on PATH (apt-get install redis-tools)")
        return 0
    script = scripts.source("ingest", **script_constants(RetentionSettings()))
    body = '{"ref":"refs/heads/main","pad":"' + "x" * 4000 + '"}'
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", persistent=True)  # AOF everysec, as in production
        server.start()
        try:
            client = redis.Redis.from_url(server.url)
            sha = client.script_load(script)
            assert server.process is not None
            before, started = cpu_seconds(server.process.pid), time.perf_counter()
            answer = subprocess.run(
                [benchmark, "-p", str(server.port), "-n", str(args.requests), "-c", "50", "-P", "8",
                 "-r", "1000000000", "-q",
                 "EVALSHA", sha, "3", keys.dedupe("bench", "__rand_int__"), keys.event("evt___rand_int__"),
                 keys.source_index("bench"), "evt___rand_int__", "1764450000.5", "bench", "__rand_int__",
                 "push",
                 '[["content-type","application/json"]]', body, "delivery_id"],
                capture_output=True, text=True, check=True, timeout=600,
            )  # fmt: skip
            elapsed = time.perf_counter() - started
            busy = (cpu_seconds(server.process.pid) - before) / elapsed
            stored = client.llen(keys.dramatiq_queue(keys.DISPATCH_QUEUE))
        finally:
            server.stop()
    found = re.search(r"([\d.]+) requests per second(.*)", answer.stdout)
    assert found, answer.stdout[-500:]
    print("one redis-server, the ingest script (4 KiB events, AOF everysec), redis-benchmark -c 50 -P 8:")
    print(f"  {float(found.group(1)):.0f} ingest steps per second{found.group(2)}")
    print(f"  redis-server busy {busy:.0%} of one core; {stored} events enqueued of {args.requests} runs")
    print("  (the rest: random delivery ids that repeated, answered as duplicates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
