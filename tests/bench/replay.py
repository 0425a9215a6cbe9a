#!/usr/bin/env python3
"""Replay benchmark: store N events (100,000 by default), replay them all with ``hookgate replay --yes``
(no ``--rate``) under ``/usr/bin/time -v``, check each was enqueued exactly once, and print the CLI's
peak memory and the time it took. ``make bench`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

from gateway.processes.dev import EmbeddedRedis  # noqa: E402
from gateway.store import keys  # noqa: E402
from tests.bench.processing import CONFIG, store_events  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    if not shutil.which("time") and not Path("/usr/bin/time").exists():
        raise SystemExit("needs /usr/bin/time (Debian package 'time') to measure peak memory")
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        config = Path(tmp) / "hookgate.toml"
        config.write_text(CONFIG.format(threads=1))
        server = EmbeddedRedis(Path(tmp) / "redis", persistent=False)
        server.start()
        try:
            asyncio.run(store_events(server.url, args.events))
            client = redis.Redis.from_url(server.url)
            queue = keys.dramatiq_queue(keys.DISPATCH_QUEUE)
            client.delete(
                queue, keys.dramatiq_messages(keys.DISPATCH_QUEUE)
            )  # only the replay's messages count
            hookgate = str(Path(sys.executable).with_name("hookgate"))
            command = [
                "/usr/bin/time",
                "-v",
                hookgate,
                "replay",
                "--source",
                "bench",
                "--since",
                "1d",
                "--yes",
            ]
            command += ["--config", str(config)]
            env = {**os.environ, "HOOKGATE_REDIS__URL": server.url, "HOOKGATE_LOGGING__LEVEL": "warning"}
            started = time.monotonic()
            result = subprocess.run(
                command, capture_output=True, text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL
            )
            elapsed = time.monotonic() - started
            if result.returncode != 0:
                raise SystemExit(f"replay failed:\n{result.stdout}\n{result.stderr}")
            peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
            message_ids = client.lrange(queue, 0, -1)
            replayed = [
                json.loads(m)["args"][0]
                for m in client.hmget(keys.dramatiq_messages(keys.DISPATCH_QUEUE), message_ids)
            ]
        finally:
            server.stop()
    once = len(replayed) == len(set(replayed)) == args.events
    print(
        f"replay of {args.events} stored events (no --rate):\n"
        f"  {elapsed:.1f} s, {args.events / elapsed:.0f} events/s\n"
        f"  peak memory of the CLI {peak_kb / 1024:.1f} MB (/usr/bin/time -v)\n"
        f"  enqueued {len(replayed)} dispatch messages, {len(set(replayed))} distinct events: "
        + ("each exactly once" if once else "NOT each exactly once")
    )
    return 0 if once else 1


if __name__ == "__main__":
    sys.exit(main())
