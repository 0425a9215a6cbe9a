#!/usr/bin/env python3
"""Ingest benchmark: signed 4 KiB GitHub pushes, a fresh delivery id per request, against ``hookgate serve``.

Self-contained: starts its own redis-server (no AOF, like the shared floor) and gateway on free ports, drives
them with wrk when it is on PATH (else a small asyncio keep-alive client), and prints throughput, latency
percentiles and errors. ``make bench`` runs it; flags: --seconds, --connections, --workers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.processes.dev import EmbeddedRedis, free_port  # noqa: E402
from gateway.store import keys  # noqa: E402

SECRET = b"It's a Secret to Everybody"
CONFIG = """
[sources.github]
provider = "github"
secret = "It's a Secret to Everybody"
"""
WRK_SCRIPT = """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  run = os.time()
  n = 0
end
wrk.method = "POST"
local f = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-Hub-Signature-256"] = os.getenv("BENCH_SIGNATURE")
request = function()
  n = n + 1
  wrk.headers["X-GitHub-Delivery"] = string.format("%d-%d-%d", run, tid, n)
  return wrk.format(nil, nil, nil, nil)
end
"""


def push_body(size: int = 4096) -> bytes:
    """A GitHub-push-shaped JSON body of exactly ``size`` bytes."""
    commits = []
    body = b""
    while True:
        commits.append({"id": f"{len(commits):040x}", "message": "commit", "author": {"name": "Octo Cat"}})
        doc = {
            "ref": "refs/heads/main",
            "repository": {"full_name": "octo/hello"},
            "commits": commits,
            "pad": "",
        }
        body = json.dumps(doc).encode()
        if len(body) >= size - 200:
            break
    doc["pad"] = "x" * (size - len(body))
    return json.dumps(doc).encode()


def write_load(tmpdir: Path, body: bytes) -> None:
    """What ``start_gateway`` and ``run_wrk`` read: the config, the body and wrk's script."""
    (tmpdir / "body.json").write_bytes(body)
    (tmpdir / "github.lua").write_text(WRK_SCRIPT)
    (tmpdir / "hookgate.toml").write_text(CONFIG)


def start_gateway(
    redis_url: str, tmpdir: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """``hookgate serve`` on a free port with ``tmpdir``'s config, once it answers its health check."""
    port = free_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--config", str(tmpdir / "hookgate.toml"),
         "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env={
            **os.environ,
            "HOOKGATE_REDIS__URL": redis_url,
            "HOOKGATE_LOGGING__LEVEL": "warning",
            **(env or {}),
        },
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return gateway, port
        except httpx.HTTPError:
            if time.monotonic() > deadline or gateway.poll() is not None:
                stop(gateway)
                raise SystemExit("the gateway did not start") from None
            time.sleep(0.1)


def stop(gateway: subprocess.Popen[bytes]) -> None:
    if gateway.poll() is None:
        os.killpg(gateway.pid, signal.SIGTERM)
    gateway.wait(20)


def run_wrk(url: str, seconds: int, connections: int, body_file: Path, signature: str, lua: Path) -> dict:
    env = {**os.environ, "BENCH_BODY": str(body_file), "BENCH_SIGNATURE": signature}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def percentile(p: str) -> float:
        m = re.search(rf"{p}%\s+([\d.]+)(us|ms|s)", out)
        return float(m.group(1)) * unit[m.group(2)] if m else float("nan")

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {
        "generator": "wrk",
        "requests": requests,
        "rps": rps,
        "p50_ms": percentile("50"),
        "p90_ms": percentile("90"),
        "p99_ms": percentile("99"),
        "errors": errors,
    }


async def _python_load(
    host: str, port: int, path: str, seconds: int, connections: int, body: bytes, signature: str
):
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"X-GitHub-Event: push\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n"
    )

    async def connection(index: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        n = 0
        while time.perf_counter() < stop_at:
            n += 1
            request = f"{head}X-GitHub-Delivery: py-{index}-{n}-{time.time_ns()}\r\n\r\n".encode() + body
            started = time.perf_counter()
            writer.write(request)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if not status.startswith(b"HTTP/1.1 2"):
                errors += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {
        "generator": "python",
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49],
        "p90_ms": q[89],
        "p99_ms": q[98],
        "errors": errors,
    }


def _stored_events(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.zcard(keys.INDEX_ALL))
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="gateway processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        tmpdir = Path(tmp)
        body = push_body()
        signature = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        write_load(tmpdir, body)
        redis = EmbeddedRedis(tmpdir / "redis", persistent=False)
        redis.start()
        gateway, port = start_gateway(redis.url, tmpdir, workers=args.workers)
        try:
            url = f"http://127.0.0.1:{port}/webhooks/github"
            if shutil.which("wrk"):
                run_wrk(url, 2, args.connections, tmpdir / "body.json", signature, tmpdir / "github.lua")
                warm = _stored_events(redis.url)
                result = run_wrk(
                    url,
                    args.seconds,
                    args.connections,
                    tmpdir / "body.json",
                    signature,
                    tmpdir / "github.lua",
                )
            else:
                load = _python_load(
                    "127.0.0.1", port, "/webhooks/github", args.seconds, args.connections, body, signature
                )
                warm = _stored_events(redis.url)
                result = asyncio.run(load)
            stored = _stored_events(redis.url) - warm
        finally:
            stop(gateway)
            redis.stop()
    result.update(
        body_bytes=len(body), connections=args.connections, workers=args.workers, stored_events=stored
    )
    if args.json:
        print(json.dumps(result))
    else:
        r = result
        print(
            f"ingest ({r['generator']}, {args.connections} connections, {args.workers} gateway process(es), "
            f"{len(body)} B signed GitHub push):\n"
            f"  throughput {r['rps']:.0f} req/s  ({r['requests']} answered, {stored} events stored)\n"
            f"  latency    p50 {r['p50_ms']:.2f} ms  p90 {r['p90_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms\n"
            f"  errors     {r['errors']}"
        )
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
