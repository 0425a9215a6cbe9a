"""What the tests share: signed deliveries, the integration config, hookgate processes, waiting, the
``hookgate`` command, and the admin API's tokens. Fixtures stay in the conftest files."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import redis

from gateway.config import Settings
from gateway.processes.dev import free_port
from gateway.store import keys
from gateway.store.dlq import DeadLetters
from gateway.store.ledger import Ledger

if TYPE_CHECKING:
    from litestar.testing import TestClient

ROOT = Path(__file__).resolve().parents[1]
#: The installed console script, as operators run it.
HOOKGATE = str(Path(sys.executable).with_name("hookgate"))
#: GitHub's own example secret; the ``github`` source of the test configs uses it.
GITHUB_SECRET = "It's a Secret to Everybody"

# Signed deliveries

#: One TLS context for every test request. httpx builds a new one for each top-level call otherwise,
#: loading the CA bundle each time (~30 ms of CPU): at the 40 deliveries a second of the lane tests that
#: was more than a core, taken from the gateway and worker under test on a 2-core machine.
TLS = ssl.create_default_context()


class TargetServer(ThreadingHTTPServer):
    """A local HTTP target for deliveries: a thread per connection, and a listen backlog deep enough for
    a worker's bursts. The standard library's backlog of 5 dropped connection attempts under load, which
    Linux retries only after a second: a delivery's latency jumped by one second, now and then."""

    daemon_threads = True
    request_queue_size = 1024


def github_signature(body: bytes, secret: str | bytes = GITHUB_SECRET) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends with ``body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def github_headers(
    body: bytes, *, secret: str | bytes = GITHUB_SECRET, delivery: str | None = None, event: str = "push"
) -> dict[str, str]:
    """A signed GitHub delivery's headers; a fresh delivery id unless ``delivery`` is given."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(body, secret),
    }


def stripe_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` value for ``body`` signed at ``timestamp``."""
    signed = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signed}"


def post(
    gateway_url: str,
    source: str = "hooks",
    secret: str | bytes = b"hooks-secret",
    body: bytes | None = None,
    *,
    event: str = "push",
    delivery: str | None = None,
    headers: dict[str, str] | None = None,
    duplicate: bool = False,
) -> str:
    """Post a signed GitHub-style delivery (a random JSON body unless ``body``) to a running gateway and
    return its event id; the answer must be 202, or 200 for an expected ``duplicate``."""
    body = body or json.dumps({"n": str(uuid.uuid4())}).encode()
    sent = github_headers(body, secret=secret, delivery=delivery, event=event) | (headers or {})
    response = httpx.post(f"{gateway_url}/webhooks/{source}", content=body, headers=sent, verify=TLS)
    assert response.status_code == (200 if duplicate else 202), response.text
    return str(response.json()["event_id"])


# The integration config and what its consumers leave in Redis

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


def write_config(folder: Path, extra: str, *, name: str = "hookgate.toml") -> Path:
    """The base test config plus ``extra`` TOML (forwards, retries, worker tuning)."""
    path = folder / name
    path.write_text(CONFIG + extra + ("" if "[worker]" in extra else WORKER))
    return path


def forward(name: str, url: str, *, source: str = "hooks", **extra: object) -> str:
    """A ``[[forward]]`` of ``source`` to ``url``; ``extra`` keys as TOML values."""
    lines = [f'\n[[forward]]\nname = "{name}"\nsource = "{source}"\nurl = "{url}"']
    lines += [f"{key} = {_toml(value)}" for key, value in ({"timeout_seconds": 20} | extra).items()]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    """A TOML key: bare when it can be, else quoted (``"$gte"``, ``"data.object"``)."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml(value: object) -> str:
    """A TOML value: a table inline, anything else as JSON (which TOML reads the same)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def stored(redis_url: str, event_id: str) -> dict[bytes, bytes]:
    """The event's hash as Redis holds it."""
    client = redis.Redis.from_url(redis_url)
    try:
        return client.hgetall(keys.event(event_id))
    finally:
        client.close()


def status(client: redis.Redis, event_id: str) -> str:
    return (client.hget(keys.event(event_id), "status") or b"").decode()


def handled(redis_url: str) -> list[str]:
    """Event ids the recording consumer has handled, in order."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [raw.decode() for raw in client.lrange("test:handled", 0, -1)]
    finally:
        client.close()


def hooks_recorded(client: redis.Redis, event_id: str) -> int:
    """How often the ``hooks`` recorder ran for the event."""
    return sum(1 for item in client.lrange("test:hooks", 0, -1) if item.decode().startswith(event_id))


def wait_for(condition: Callable[[], object], timeout: float = 15, message: str = "condition") -> object:
    """Poll ``condition`` until it is truthy (and return it); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def lease_holder(client: redis.Redis, name: str) -> int | None:
    """The pid holding lease ``name``, or None while it is free (read once: it may lapse at any moment)."""
    value = client.get(keys.lease(name))
    return int(value.decode().split(":")[1]) if value else None


# hookgate processes


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


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def launch_gateway(
    redis_url: str | None,
    config: Path,
    log_folder: Path,
    *,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Gateway:
    """``hookgate serve`` on ``port`` (a free one by default), once its ``/healthz`` answers; the caller
    stops it. Without ``redis_url`` the config says where Redis is (sentinels)."""
    port = port or free_port()
    log = log_folder / f"gateway-{port}.log"
    proc = _spawn(
        ["serve", "--config", str(config), "--port", str(port)],
        # /metrics wants a token unless public; these tests read it plainly (test_app checks tokens).
        {**_settings_env(redis_url, None), "HOOKGATE_ADMIN__PUBLIC_METRICS": "true", **(env or {})},
        log,
    )
    gateway = Gateway(proc, log, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited:\n{gateway.output()}")
        try:
            if httpx.get(f"{gateway.url}/healthz", timeout=0.5, verify=TLS).status_code == 200:
                return gateway
        except httpx.HTTPError:
            time.sleep(0.1)
    gateway.stop()
    raise RuntimeError(f"gateway did not start:\n{gateway.output()}")


def launch_worker(redis_url: str | None, config: Path, log: Path) -> Process:
    """``hookgate worker``, once it says it started; the caller stops it. Without ``redis_url`` the
    config says where Redis is (sentinels)."""
    proc = _spawn(["worker", "--config", str(config)], _settings_env(redis_url, None), log)
    worker = Process(proc, log)
    deadline = time.monotonic() + 20
    while "worker started" not in worker.output():
        if proc.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker did not start:\n{worker.output()}")
        time.sleep(0.05)
    return worker


# The hookgate command


def _settings_env(redis_url: str | None, env: dict[str, str] | None) -> dict[str, str]:
    return {**({"HOOKGATE_REDIS__URL": redis_url} if redis_url else {}), **(env or {})}


def hookgate(
    *args: str, redis_url: str | None = None, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """The installed ``hookgate`` executable, as an operator runs it, with no ``HOOKGATE_*`` settings
    but ``redis_url`` and ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    return subprocess.run(
        [HOOKGATE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, **_settings_env(redis_url, env)},
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def cli(
    *args: str, redis_url: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``hookgate ARGS`` in this process (click's CliRunner), answered as :func:`hookgate` answers: a
    fraction of a second instead of an interpreter start. Use :func:`hookgate` where the test is about
    the executable itself (its exit status on a signal, its environment, its stderr as a terminal)."""
    from click.testing import CliRunner

    from gateway.cli import main

    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOOKGATE_")}
    result = CliRunner().invoke(
        main, list(args), env={**unset, **_settings_env(redis_url, env)}, catch_exceptions=False
    )
    return subprocess.CompletedProcess([HOOKGATE, *args], result.exit_code, result.stdout, result.stderr)


# The admin API and dashboard in-process (Litestar's TestClient)

TOKENS = {"reader": "read-secret", "replayer": "replay-secret", "boss": "admin-secret"}
SESSION_SECRET = "a-long-random-session-secret-for-tests"


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def settings_for(
    redis_url: str,
    *,
    session_secret: str = SESSION_SECRET,
    tokens: dict[str, str] | None = None,
    sources: dict[str, dict[str, str]] | None = None,
    scopes: dict[str, str] | None = None,
) -> Settings:
    """A ``github`` source and the admin tokens (``TOKENS`` unless ``tokens``), with dashboard sessions."""
    tokens = TOKENS if tokens is None else tokens
    scopes = {"reader": "read", "replayer": "replay", "boss": "admin", **(scopes or {})}
    return Settings.model_validate(
        {
            "redis": {"url": redis_url},
            "sources": {"github": {"provider": "github", "secret": GITHUB_SECRET}, **(sources or {})},
            "admin": {
                "session_secret": session_secret,
                "tokens": [
                    {
                        "name": name,
                        "scopes": [scopes[name]],
                        "token": "sha256:" + hashlib.sha256(s.encode()).hexdigest(),
                    }
                    for name, s in tokens.items()
                ],
            },
        }
    )


def deliver(client: TestClient, n: int) -> str:
    """A signed delivery ``{"n": n}`` (delivery id ``d-n``) to the ``github`` source; its event id."""
    body = json.dumps({"n": n}).encode()
    headers = {
        "X-Hub-Signature-256": github_signature(body),
        "X-GitHub-Delivery": f"d-{n}",
        "X-GitHub-Event": "push",
    }
    response = client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 202
    return str(response.json()["event_id"])


def dead_letter(redis_url: str, event_id: str) -> str:
    """A dead letter of the ``billing`` consumer for the event; its entry id."""
    store = redis.Redis.from_url(redis_url)
    return DeadLetters(store, Ledger(store)).add(
        event_id=event_id,
        consumer="billing",
        error_type="ForwardFailed",
        error="POST http://billing answered 500",
        traceback="Traceback ...",
        attempts=3,
    )


def csrf(client: TestClient, path: str = "/dashboard/login") -> str:
    """The CSRF token of the form on ``path``."""
    page = client.get(path)
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def log_in(client: TestClient, name: str) -> None:
    """Log in to the dashboard with the token of ``name``."""
    answer = client.post(
        "/dashboard/login",
        data={"token": TOKENS[name], "_csrf_token": csrf(client), "next": "/dashboard"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"


def destination(redis_url: str, name: str = "billing", *, held: tuple[str, ...] = ()) -> None:
    """Announce ``name``'s lane as a worker does at boot (no worker runs). With ``held`` events it is
    paused, holding one delivery of each (stored events: a lane drops what it holds for a gone event)."""
    import dramatiq

    from gateway.store.lanes import LaneConfig, Lanes

    store = redis.Redis.from_url(redis_url)
    lanes = Lanes(store)
    lanes.announce({name: LaneConfig(max_in_flight=4, interval_ms=20, rate="50/s")})
    if not held:
        return
    lanes.pause(name)
    operations = []
    for event_id in held:
        message = dramatiq.Message(
            queue_name=keys.DELIVER_QUEUE,
            actor_name=keys.DELIVER_ACTOR,
            args=(event_id, name),
            kwargs={},
            options={"retries": 2},
        )
        operations.append(Ledger.hold_op(event_id, name, message.message_id, message.encode().decode()))
    Ledger(store).apply(operations)
