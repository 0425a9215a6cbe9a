#!/usr/bin/env python3
"""Outage benchmark: a forward target is down (connection refused) while 20,000 events arrive for it and
for a second, healthy target on the same events. First the same number of events with both targets up,
for the healthy consumer's pace without an outage, in the same run. Reports the healthy pace during the
outage against that, the worker's RSS growth while the down target's deliveries are held (its breaker
open), Redis's memory, and, once the target is back, how long until every event reaches it and how many
were lost. ``make bench`` runs it after the processing benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.processes.dev import EmbeddedRedis, free_port  # noqa: E402
from gateway.store import keys  # noqa: E402
from gateway.store.lanes import Lanes  # noqa: E402
from tests.bench.processing import start_worker, store_events  # noqa: E402

CONFIG = """
[sources.outage]
provider = "github"
secret = "bench-secret"

[[forward]]
name = "down"
source = "outage"
url = "http://127.0.0.1:{down_port}/down"
timeout_seconds = 5
max_retries = 40
min_backoff_ms = 1000
max_backoff_ms = 15000
breaker = {{ failures = 5, cooldown = "5s", max_cooldown = "20s" }}

[[forward]]
name = "healthy"
source = "outage"
url = "http://127.0.0.1:{healthy_port}/healthy"
timeout_seconds = 5

[worker]
threads = {threads}
"""


class Target:
    """Counts the distinct events it received (X-Hookgate-Event-Id) and every request."""

    def __init__(self, port: int = 0) -> None:
        self.events: set[str] = set()
        self.requests = 0
        self.closed = False
        self._lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                if target.closed:  # a kept-alive connection outlives the listener: drop it unanswered
                    self.close_connection = True
                    return
                with target._lock:
                    target.requests += 1
                    target.events.add(self.headers.get("X-Hookgate-Event-Id", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self) -> int:
        with self._lock:
            return len(self.events)

    def close(self) -> None:
        """Down: new connections are refused and kept-alive ones dropped."""
        self.closed = True
        self.server.shutdown()
        self.server.server_close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def redis_mb(client: redis.Redis) -> float:
    return int(client.info("memory")["used_memory"]) / 1024 / 1024


def down_attempts(client: redis.Redis) -> int:
    """Attempts the worker made at the down target since it went down: its lane's failures in a row."""
    raw = client.hget(keys.lane("down"), "failures")
    return int(raw or 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    healthy = Target()
    down_port = free_port()
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis")
        server.start()
        config = Path(tmp) / "hookgate.toml"
        config.write_text(CONFIG.format(down_port=down_port, healthy_port=healthy.port, threads=args.threads))
        client = redis.Redis.from_url(server.url)
        worker = start_worker(server.url, config, level="error")
        down: Target | None = Target(down_port)
        try:
            time.sleep(3)  # booted and idle
            # Both up: the healthy consumer's pace without an outage.
            started = time.monotonic()
            asyncio.run(store_events(server.url, args.events, "outage"))
            while healthy.received() < args.events or down.received() < args.events:
                time.sleep(0.2)
            normal_pace = args.events / (time.monotonic() - started)
            down.close()
            down = None  # connections refused from now on
            time.sleep(1)
            rss_start, redis_start = rss_mb(worker.pid), redis_mb(client)
            rss_peak, redis_peak = rss_start, redis_start
            started = time.monotonic()
            ids = asyncio.run(store_events(server.url, args.events, "outage", first=args.events))
            stored = time.monotonic() - started
            while healthy.received() < 2 * args.events:
                rss_peak, redis_peak = max(rss_peak, rss_mb(worker.pid)), max(redis_peak, redis_mb(client))
                time.sleep(0.2)
            pace = args.events / (time.monotonic() - started)
            for _ in range(25):  # the down target's deliveries stay held for a while, in Redis
                rss_peak, redis_peak = max(rss_peak, rss_mb(worker.pid)), max(redis_peak, redis_mb(client))
                time.sleep(0.2)
            lane = Lanes(client).status("down")
            attempts_while_down = down_attempts(client)
            outage = time.monotonic() - started
            down = Target(down_port)
            recovered = time.monotonic()
            deadline = recovered + 900
            while down.received() < args.events and time.monotonic() < deadline:
                rss_peak = max(rss_peak, rss_mb(worker.pid))
                time.sleep(0.2)
            drained = time.monotonic() - recovered
            with client.pipeline(transaction=False) as pipe:
                for event_id in ids:
                    pipe.hget(keys.event(event_id), "status")
                statuses = pipe.execute()
            lost = args.events - down.received()
            processed = sum(1 for s in statuses if s == b"processed")
            dead = int(client.zcard(keys.DLQ_INDEX))
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
            server.stop()
            healthy.close()
            if down is not None:
                down.close()
    print(f"outage ({args.events} events for a down target and a healthy one, {args.threads} threads):")
    print(
        f"  healthy consumer: {normal_pace:.0f} events/s with both targets up, {pace:.0f} events/s while the"
        f" other was down ({pace / normal_pace:.2f} of its pace); stored in {stored:.1f} s"
    )
    print(
        f"  the down target: breaker {lane.breaker_state}, {lane.held} deliveries held after {outage:.0f} s,"
        f" {attempts_while_down} attempts made at it"
    )
    print(
        f"  worker RSS {rss_start:.0f} MB -> peak {rss_peak:.0f} MB (growth {rss_peak - rss_start:.0f} MB)"
        f"; redis used_memory {redis_start:.0f} MB -> peak {redis_peak:.0f} MB"
    )
    print(
        f"  target back: all delivered in {drained:.1f} s; lost {lost}; dead-lettered {dead}; "
        f"events processed {processed}/{args.events}"
    )
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
