#!/usr/bin/env python3
"""What tracing costs the ingest path: hookgate's ratio to the pipeline floor with tracing off and on.

Each round runs the shared ``bench/ratio.py`` (a floor round, then hookgate, each on a fresh
redis-server) with tracing off, then again with it on (which goes first alternates). The cost is the
median of each round's own drop in hookgate's requests per second, off to on: the two runs of a round are
the closest in time, and the floor's own variation stays out of it. The ratios to the floor are shown
beside it.
For "on", the gateway gets ``HOOKGATE_TRACING__ENABLED=true`` and exports to a local OTLP/HTTP
collector that accepts and discards every batch. Needs wrk and redis-server on PATH (without them it
says so and exits 0). Flags: --rounds (default 5), --seconds, --connections (passed on).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import floor  # noqa: E402


class DiscardingCollector:
    """An OTLP/HTTP endpoint that answers 200 to every export and keeps only a count of them."""

    def __init__(self) -> None:
        self.exports = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps the connection open between exports, as a collector does

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                collector.exports += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if reason := floor.missing():
        print(f"tracing bench skipped: {reason}")
        return 0
    passed_on = ["--rounds=1", f"--seconds={args.seconds}", f"--connections={args.connections}"]
    # Off means off: no variable of this shell may turn it on.
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "HOOKGATE_TRACING__"))
    }
    collector = DiscardingCollector()
    traced = {**clean, "HOOKGATE_TRACING__ENABLED": "true", "HOOKGATE_TRACING__ENDPOINT": collector.url}
    runs: dict[str, list[floor.Measured]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        config = Path(tmp) / "hookgate.toml"
        config.write_text(floor.CONFIG)
        try:
            # Off and on alternate, each round against a floor round of its own, so a drift of the
            # machine's speed falls on both alike.
            both = [("off", clean), ("on", traced)]
            for round_number in range(1, args.rounds + 1):
                for name, env in both if round_number % 2 else reversed(both):
                    print(f"round {round_number}, tracing {name}:", flush=True)
                    runs[name].append(floor.measure(config, passed_on, env))
        finally:
            collector.close()
    print(f"\ningest ratio to the floor, median of {args.rounds} alternating rounds (each round's):")
    for name in ("off", "on"):
        ratios = [run.ratio for run in runs[name]]
        each = " ".join(f"{r:.3f}" for r in ratios)
        print(f"  tracing {name + ':':4s} {statistics.median(ratios):.3f}   ({each})")
    drops = [1 - on.rps / off.rps for off, on in zip(runs["off"], runs["on"], strict=True)]
    print(
        f"tracing on costs {statistics.median(drops):.1%} of throughput (median of the rounds' own: "
        f"{' '.join(f'{d:.1%}' for d in drops)}); {collector.exports} batches exported"
    )
    if collector.exports == 0:
        print("but no span reached the collector: tracing was not on")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
