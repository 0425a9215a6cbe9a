"""Dashboard page times with a large store: 100,000 events of the last hour and 2,000 dead letters.

Each page is fetched over HTTP from a real uvicorn server (the gateway's admin part) with a logged-in
session; prints p50 and p95 per page. The overview is what every open tab polls every 5 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import redis
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.config import Settings  # noqa: E402
from gateway.processes.app import create_app  # noqa: E402
from gateway.processes.dev import EmbeddedRedis, free_port  # noqa: E402
from gateway.store.dlq import DeadLetters  # noqa: E402
from gateway.store.ledger import Ledger  # noqa: E402
from tests.bench.processing import store_events  # noqa: E402

TOKEN = "bench-dashboard-token"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--dead", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", persistent=False)
        server.start()
        try:
            ids = asyncio.run(store_events(server.url, args.events))
            client = redis.Redis.from_url(server.url)
            ledger = Ledger(client)
            dead_letters = DeadLetters(client, ledger)
            for n, event_id in enumerate(ids[: args.dead]):
                dead_letters.add(
                    event_id=event_id,
                    consumer=f"consumer-{n % 5}",
                    error_type="ForwardFailed",
                    error="ForwardFailed: answered 500",
                    traceback="Traceback (most recent call last): ...",
                    attempts=3,
                )
            timings = measure(server.url, ids[0], args.rounds)
        finally:
            server.stop()
    print(f"dashboard pages with {args.events} events in the last hour and {args.dead} dead letters:")
    for page, samples in timings.items():
        samples.sort()
        p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
        print(f"  {page:<28} p50 {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms")
    return 0


def measure(redis_url: str, event_id: str, rounds: int) -> dict[str, list[float]]:
    settings = Settings.model_validate(
        {
            "redis": {"url": redis_url},
            "sources": {"bench": {"provider": "github", "secret": "bench-secret"}},
            "admin": {
                "session_secret": "bench-session-secret-0123456789",
                "tokens": [
                    {
                        "name": "bench",
                        "scopes": ["read"],
                        "token": "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest(),
                    }
                ],
            },
            "logging": {"level": "warning"},
        }
    )
    port = free_port()
    web = uvicorn.Server(
        uvicorn.Config(create_app(settings, part="admin"), port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    while not web.started:
        time.sleep(0.05)
    pages = {
        "overview (htmx poll)": "/dashboard/overview",
        "dead letters, first page": "/dashboard/dlq",
        "dead letters, error filter": "/dashboard/dlq?q=answered",
        "events, first page": "/dashboard/events",
        "event detail": f"/dashboard/events/{event_id}",
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as browser:
            form = browser.get("/dashboard/login").text
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form).group(1)
            browser.post("/dashboard/login", data={"token": TOKEN, "_csrf_token": csrf})
            for _ in range(rounds):
                for name, path in pages.items():
                    started = time.perf_counter()
                    answer = browser.get(path)
                    timings[name].append((time.perf_counter() - started) * 1000)
                    if answer.status_code != 200:
                        raise SystemExit(f"{path} answered {answer.status_code}")
    finally:
        web.should_exit = True
        thread.join(10)
    return timings


if __name__ == "__main__":
    sys.exit(main())
