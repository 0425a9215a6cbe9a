#!/usr/bin/env python3
"""Where the time goes: py-spy samples a hookgate process under load and this prints a flat summary, the
functions with the most samples at the top of the stack (self) and anywhere on it (inclusive): every
thread that is not idle (waiting on a socket or the GIL counts) or, with ``--gil``, the one holding the GIL.

    python tests/bench/profile.py worker --source bench          # the processing benchmark's worker
    python tests/bench/profile.py worker --source bench-filtered
    python tests/bench/profile.py ingest --seconds 15            # ``hookgate serve`` under wrk

Each run starts its own redis-server; ``--raw FILE`` keeps py-spy's collapsed stacks (flamegraph input).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import hmac
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.processes.dev import EmbeddedRedis  # noqa: E402
from gateway.store import keys  # noqa: E402
from tests.bench import ingest, processing  # noqa: E402
from tests.bench.tracing import DiscardingCollector  # noqa: E402


def record(pid: int, out: Path, rate: int, gil: bool, nonblocking: bool = True) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` and its children into ``out`` (collapsed stacks) until stopped; with
    ``gil``, only the samples of the thread holding the GIL (CPU), else every thread not asleep (time).
    ``nonblocking``: without stopping the process for each sample (stopping it lands samples in system
    calls it interrupts: a ``getpid`` looked like 12 % of the worker here)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed (make .venv/bin/hookgate installs the dev extras)")
    command = [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", str(rate)]
    return subprocess.Popen(
        [
            *command,
            *(["--gil"] if gil else []),
            *(["--nonblocking"] if nonblocking else []),
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(2)  # py-spy writes its file on SIGINT
    spy.wait(30)


def summarise(raw: Path, top: int) -> None:
    """Self and inclusive sample counts per function (``name (file:line)`` frames folded to the name and
    file), as a share of all samples."""
    own: collections.Counter[str] = collections.Counter()
    anywhere: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [fold(frame) for frame in stack.split(";")[1:]]  # the first is the process/thread
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
    print(f"{total} samples")
    for title, counter in (("self", own), ("inclusive", anywhere)):
        print(f"  top {top} by {title}:")
        for frame, count in counter.most_common(top):
            print(f"    {100 * count / total:5.1f} %  {frame}")


def fold(frame: str) -> str:
    """``name (path:line)`` as ``name (short path)``: lines of one function count together."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def profile_worker(args: argparse.Namespace, tmp: Path, raw: Path) -> None:
    server = EmbeddedRedis(tmp / "redis", persistent=False)
    server.start()
    try:
        config = tmp / "hookgate.toml"
        config.write_text(processing.CONFIG.format(threads=args.threads))
        asyncio.run(processing.store_events(server.url, args.events, args.source))
        client = redis.Redis.from_url(server.url)
        worker = processing.start_worker(server.url, config)
        queue = keys.dramatiq_queue(keys.DISPATCH_QUEUE)
        while client.llen(queue) == args.events:  # sampled once it works, not while it imports
            time.sleep(0.005)
        spy = record(worker.pid, raw, args.rate, args.gil)
        try:
            rate = processing.drain_rate(client, args.events, [keys.DISPATCH_QUEUE, keys.DELIVER_QUEUE], None)
        finally:
            finish(spy)
            processing.stop(worker)
        print(f"worker, source {args.source}, {args.threads} threads: {rate:.0f} events/s while sampled")
    finally:
        server.stop()


def profile_ingest(args: argparse.Namespace, tmp: Path, raw: Path) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("the ingest profile drives the gateway with wrk (apt-get install wrk)")
    body = ingest.push_body()
    signature = "sha256=" + hmac.new(ingest.SECRET, body, hashlib.sha256).hexdigest()
    ingest.write_load(tmp, body)
    server = EmbeddedRedis(tmp / "redis", persistent=False)
    server.start()
    collector = None
    env: dict[str, str] = {}
    if args.tracing:  # spans exported to a collector that discards them, as tests/bench/tracing.py does
        collector = DiscardingCollector()
        env = {"HOOKGATE_TRACING__ENABLED": "true", "HOOKGATE_TRACING__ENDPOINT": collector.url}
    try:
        gateway, port = ingest.start_gateway(server.url, tmp, env=env)
        url = f"http://127.0.0.1:{port}/webhooks/github"
        try:
            ingest.run_wrk(url, 2, args.connections, tmp / "body.json", signature, tmp / "github.lua")
            spy = record(gateway.pid, raw, args.rate, args.gil)
            try:
                result = ingest.run_wrk(
                    url, args.seconds, args.connections, tmp / "body.json", signature, tmp / "github.lua"
                )
            finally:
                finish(spy)
        finally:
            ingest.stop(gateway)
        print(
            f"hookgate serve under wrk ({args.connections} connections, tracing "
            f"{'on' if args.tracing else 'off'}): {result['rps']:.0f} req/s while sampled, "
            f"p99 {result['p99_ms']:.2f} ms"
        )
    finally:
        if collector is not None:
            collector.close()
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["worker", "ingest"])
    parser.add_argument("--source", default="bench", help="the processing benchmark's source (worker)")
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=15, help="wrk's duration (ingest)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tracing", action="store_true", help="ingest with tracing on")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--gil", action="store_true", help="only the thread holding the GIL (CPU)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookgate-profile-") as name:
        tmp = Path(name)
        raw = args.raw or tmp / "profile.txt"
        (profile_worker if args.target == "worker" else profile_ingest)(args, tmp, raw)
        summarise(raw, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
