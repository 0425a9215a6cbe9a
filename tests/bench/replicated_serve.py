#!/usr/bin/env python3
"""``hookgate serve`` with ``min_replica_acks = 1`` against a replica of its own: for ratio.py, which
gives each candidate round a fresh redis-server. Starts a replica of REDIS_URL, waits until it is in
sync, then runs the gateway until told to stop (and the replica with it).

usage: replicated_serve.py REDIS_URL PORT CONFIG
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.processes.dev import free_port, redis_server_binary  # noqa: E402


def main() -> int:
    redis_url, port, config = sys.argv[1], sys.argv[2], sys.argv[3]
    primary = urlparse(redis_url)
    with tempfile.TemporaryDirectory(prefix="hookgate-replica-") as folder:
        replica_port = free_port()
        replica = subprocess.Popen(
            [redis_server_binary(), "--port", str(replica_port), "--dir", folder, "--save", "",
             "--replicaof", primary.hostname or "127.0.0.1", str(primary.port)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if redis.Redis(port=replica_port).info("replication").get("master_link_status") == "up":
                        break
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the replica did not sync")
                time.sleep(0.05)
            serve = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", config,
                 "--host", "127.0.0.1", "--port", port],
                env={**os.environ, "HOOKGATE_REDIS__URL": redis_url, "HOOKGATE_REDIS__MIN_REPLICA_ACKS": "1"},
                cwd=ROOT,
            )  # fmt: skip
            signal.signal(signal.SIGTERM, lambda *_: serve.terminate())
            signal.signal(signal.SIGINT, lambda *_: serve.terminate())
            return serve.wait()
        finally:
            replica.kill()
            replica.wait()


if __name__ == "__main__":
    sys.exit(main())
