"""Real processes for integration tests: ``hookgate serve`` (uvicorn) and ``hookgate worker`` (Dramatiq)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from gateway.dev import free_port
from tests.integration.sink import Sink

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[gateway]
max_body_bytes = 65536
retry_after_seconds = 3

[redis]
timeout_seconds = 0.5
connect_timeout_seconds = 0.3

[sources.github]
provider = "github"
secret = "It's a Secret to Everybody"

[sources.stripe]
provider = "stripe"
secrets = ["whsec_new_secret", "whsec_old_secret"]

[sources.partner]
provider = "hmac"
secret = "partner-secret"
header = "X-Partner-Signature"
prefix = "sha256="
delivery_id = "header:X-Partner-Delivery"
event_type = "json:type"

[sources.tiny]
provider = "github"
secret = "tiny-secret"
max_body_bytes = 1024

[sources.hooks]
provider = "github"
secret = "hooks-secret"

[sources.solo]
provider = "github"
secret = "solo-secret"

[sources.slowpoke]
provider = "github"
secret = "slow-secret"

[consumers]
modules = ["tests.integration.recording"]
"""
WORKER = """
[worker]
threads = 4
idle_poll_ms = 25
"""


@dataclass
class Process:
    """A hookgate command running as a child process, its output in a log file."""

    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Gateway(Process):
    url: str = ""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "hookgate.toml"
    path.write_text(CONFIG + WORKER)
    return path


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture
def start_gateway(tmp_path: Path, config_file: Path) -> Iterator[Callable[..., Gateway]]:
    started: list[Process] = []

    def start(redis_url: str, *, config: Path = config_file, env: dict[str, str] | None = None) -> Gateway:
        port = free_port()
        log = tmp_path / f"gateway-{port}.log"
        proc = _spawn(
            ["serve", "--config", str(config), "--port", str(port)],
            # /metrics wants a token unless public; these tests read it plainly (test_app checks tokens).
            {"HOOKGATE_REDIS__URL": redis_url, "HOOKGATE_ADMIN__PUBLIC_METRICS": "true", **(env or {})},
            log,
        )
        gateway = Gateway(proc, log, f"http://127.0.0.1:{port}")
        started.append(gateway)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"gateway exited:\n{gateway.output()}")
            try:
                if httpx.get(f"{gateway.url}/healthz", timeout=0.5).status_code == 200:
                    return gateway
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"gateway did not start:\n{gateway.output()}")

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def start_worker(tmp_path: Path, config_file: Path) -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def start(redis_url: str, *, config: Path = config_file) -> Process:
        log = tmp_path / f"worker-{len(started)}.log"
        proc = _spawn(["worker", "--config", str(config)], {"HOOKGATE_REDIS__URL": redis_url}, log)
        worker = Process(proc, log)
        started.append(worker)
        deadline = time.monotonic() + 20
        while "worker started" not in worker.output():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{worker.output()}")
            time.sleep(0.05)
        return worker

    yield start
    for process in started:
        process.stop()


def wait_for(condition: Callable[[], object], timeout: float = 15, message: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def handled(redis_url: str) -> list[str]:
    """Event ids the recording consumer has handled, in order."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [raw.decode() for raw in client.lrange("test:handled", 0, -1)]
    finally:
        client.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    target = Sink()
    yield target
    target.close()


def write_config(tmp_path: Path, extra: str, *, name: str = "hookgate.toml") -> Path:
    """The base test config plus ``extra`` TOML (forwards, retries, worker tuning)."""
    path = tmp_path / name
    path.write_text(CONFIG + extra + ("" if "[worker]" in extra else WORKER))
    return path
