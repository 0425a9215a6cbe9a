"""The chaos harness: real processes under signed load, one fault, and a count of what was acked against
what reached the target.

A stack is a redis-server with AOF (``appendfsync everysec``), ``hookgate serve``, ``hookgate worker``
and a local HTTP target that answers 500 to a fraction of requests (so retries are always waiting, as in
any busy system). Senders post signed GitHub deliveries at a steady rate and retry a 503 or a refused
connection, as real senders do. Mid-load one fault strikes: the gateway or the worker is SIGKILLed and
restarted, or Redis is shut down or SIGKILLed and restarted from its AOF after a few seconds. Then the
load stops and the harness waits until every acked event has reached the target (a 2xx), or gives up.

``make chaos`` runs each fault several times and prints the table (``tests/chaos/run.py``); the test
suite runs each once, shorter (``test_chaos.py``). The ``ordered-`` faults strike a forward ordered per
customer (``ordering = "body:customer"``) and check, besides what was lost, that each customer's events
reached the target one at a time in the order the gateway stored them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import redis

from gateway.processes.dev import EmbeddedRedis, free_port
from gateway.store import keys
from gateway.store.lanes import Lanes
from tests.helpers import TargetServer, wait_for
from tests.integration.ordering import Attempt, check_order, stored_order

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"chaos-secret"
BASE_FAULTS = ("gateway-sigkill", "worker-sigkill", "redis-shutdown", "redis-sigkill")
#: The target down (every answer a 500) until its breaker opens and deliveries are held, then the fault;
#: the target comes back with the rest of the stack.
HELD_FAULTS = ("held-worker-sigkill", "held-redis-sigkill")
#: The forward ordered per customer (the senders spread their deliveries over ``CUSTOMERS``).
ORDERED_FAULTS = ("ordered-worker-sigkill", "ordered-redis-sigkill")
FAULTS = BASE_FAULTS + HELD_FAULTS + ORDERED_FAULTS
CUSTOMERS = 40

#: The source, its forward to the target, retries and worker: shared with the high-availability stack.
BODY = """
[sources.chaos]
provider = "github"
secret = "chaos-secret"

[[forward]]
name = "target"
source = "chaos"
url = "{target}"
timeout_seconds = 5
breaker = {{ failures = 5, cooldown = "2s", max_cooldown = "5s" }}

[retries]
max_retries = 20
min_backoff_ms = 1500
max_backoff_ms = 4000

[worker]
threads = 8
heartbeat_timeout_ms = 3000
reconcile_after_seconds = 15
"""
CONFIG = (
    """
[gateway]
retry_after_seconds = 1

[redis]
timeout_seconds = 0.5
connect_timeout_seconds = 0.3
"""
    + BODY
)


class Target:
    """The forward target: answers 500 to ``failure_rate`` of requests (seeded), records the rest."""

    def __init__(self, failure_rate: float, seed: int) -> None:
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        #: event id -> [(idempotency key, status)] in arrival order
        self.requests: dict[str, list[tuple[str, int]]] = defaultdict(list)
        #: (time.monotonic(), event id) of every request, in arrival order
        self.arrivals: list[tuple[float, str]] = []
        #: every request with its customer, for the order per customer
        self.attempts: list[Attempt] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                event_id = self.headers.get("X-Hookgate-Event-Id", "")
                customer = json.loads(body).get("customer") if body.startswith(b"{") else None
                with target._lock:
                    status = 500 if target._random.random() < target.failure_rate else 200
                    target.requests[event_id].append((self.headers.get("Idempotency-Key", ""), status))
                    now = time.monotonic()
                    target.arrivals.append((now, event_id))
                    target.attempts.append(Attempt(event_id, customer, now, now, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = TargetServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def delivered(self) -> set[str]:
        """Events that got a 2xx at least once."""
        with self._lock:
            return {e for e, seen in self.requests.items() if any(status == 200 for _, status in seen)}

    def repeats(self) -> tuple[int, set[str]]:
        """Requests after an event's first 2xx, and the idempotency keys seen per event (must be one)."""
        count, keys_ = 0, set()
        with self._lock:
            for event_id, seen in self.requests.items():
                statuses = [status for _, status in seen]
                if 200 in statuses:
                    count += len(statuses) - statuses.index(200) - 1
                if len({key for key, _ in seen}) != 1:
                    keys_.add(event_id)
        return count, keys_

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Child:
    """A hookgate process, its output in a log file."""

    args: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", *self.args],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass
class Result:
    fault: str
    sent: int = 0
    acked: int = 0
    unavailable: int = 0
    refused: int = 0
    lost: int = 0
    repeats: int = 0
    waiting_at_fault: int = 0
    settle_seconds: float | None = None
    repairs: int = 0
    mixed_keys: int = 0
    lost_ids: list[str] = field(default_factory=list)
    #: Ordered faults: customers whose events reached the target out of stored order, and attempts that
    #: came before the customer's previous event had succeeded.
    out_of_order: int = 0
    overlaps: int = 0


class Senders:
    """Signed deliveries at a steady rate; a 503 or a refused connection is retried (same delivery)."""

    def __init__(self, url: str, rate: float, threads: int = 12) -> None:
        self.url = url
        self.rate = rate
        self.threads = threads
        self.acked: dict[str, str] = {}  # delivery id -> event id
        self.sent = 0
        self.unavailable = 0
        self.refused = 0
        #: Answers that were neither 2xx nor a 503 with Retry-After (a sender would count them failed).
        self.failed: list[str] = []
        #: (time.monotonic(), status) of every attempt; 0 for a refused or broken connection.
        self.answers: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pending: list[tuple[float, str, bytes, int]] = []

    def run(self, duration: float) -> None:
        workers = [threading.Thread(target=self._work, daemon=True) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < duration:
            due = started + n / self.rate
            time.sleep(max(0.0, due - time.monotonic()))
            body = json.dumps({"n": n, "customer": f"cus_{n % CUSTOMERS}", "pad": "x" * 200}).encode()
            with self._lock:
                self._pending.append((time.monotonic(), str(uuid.uuid4()), body, 0))
                self.sent += 1
            n += 1
        # Let the retries of the last deliveries run out (a sender keeps trying for a while).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and self._busy == 0:
                    break
            time.sleep(0.1)
        self._stop.set()
        for worker in workers:
            worker.join()

    _busy = 0

    def _work(self) -> None:
        client = httpx.Client(timeout=10)
        while not self._stop.is_set():
            task = None
            with self._lock:
                now = time.monotonic()
                for i, (due, *_) in enumerate(self._pending):
                    if due <= now:
                        task = self._pending.pop(i)
                        self._busy += 1
                        break
            if task is None:
                time.sleep(0.005)
                continue
            _, delivery, body, tries = task
            retry = False
            try:
                answer = client.post(
                    f"{self.url}/webhooks/chaos", content=body, headers=_headers(body, delivery)
                )
                with self._lock:
                    self.answers.append((time.monotonic(), answer.status_code))
                if answer.status_code in (200, 202):
                    with self._lock:
                        self.acked[delivery] = answer.json()["event_id"]
                elif answer.status_code == 503:
                    retry = True
                    with self._lock:
                        self.unavailable += 1
                        if "retry-after" not in answer.headers:
                            self.failed.append(f"503 without Retry-After: {answer.text[:200]}")
                else:
                    retry = True
                    with self._lock:
                        self.failed.append(f"{answer.status_code}: {answer.text[:200]}")
            except httpx.HTTPError as exc:
                retry = True
                with self._lock:
                    self.refused += 1
                    self.answers.append((time.monotonic(), 0))
                    self.failed.append(f"{type(exc).__name__}: {exc}")
            with self._lock:
                self._busy -= 1
                if retry and tries < 10:
                    self._pending.append((time.monotonic() + 1.0, delivery, body, tries + 1))
        client.close()


def _headers(body: bytes, delivery: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
    }


class Stack:
    """redis-server with AOF, gateway, worker and target, for one run."""

    def __init__(
        self, workdir: Path, *, failure_rate: float = 0.05, seed: int = 1, ordered: bool = False
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.redis = EmbeddedRedis(workdir / "redis")
        self.target = Target(failure_rate, seed)
        config = workdir / "hookgate.toml"
        text = CONFIG.format(target=self.target.url)
        if ordered:
            forward = "timeout_seconds = 5\n"
            assert forward in text
            text = text.replace(forward, forward + 'ordering = "body:customer"\n', 1)
        config.write_text(text)
        self.port = free_port()
        env = {"HOOKGATE_REDIS__URL": self.redis.url, "HOOKGATE_LOGGING__FORMAT": "json"}
        self.gateway = Child(
            ["serve", "--config", str(config), "--port", str(self.port)], env, workdir / "gateway.log"
        )
        self.worker = Child(["worker", "--config", str(config)], env, workdir / "worker.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.redis.start()
        self.gateway.start()
        self.worker.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200 and "worker started" in (
                    self.worker.log.read_text(errors="replace")
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the stack did not start; see {self.workdir}")

    def stop(self) -> None:
        self.gateway.kill(signal.SIGTERM)
        self.worker.kill(signal.SIGTERM)
        self.redis.stop()
        self.target.close()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, socket_timeout=2)

    def waiting(self) -> int:
        try:
            with self.client() as client:
                return int(client.zcard(keys.WAITING))
        except redis.RedisError:
            return 0

    def strike(self, fault: str, outage: float) -> None:
        """One fault, then recovery after ``outage`` seconds."""
        if fault in ORDERED_FAULTS:
            self.strike(fault.removeprefix("ordered-"), outage)
        elif fault in HELD_FAULTS:
            normal, self.target.failure_rate = self.target.failure_rate, 1.0
            with self.client() as client:
                lanes = Lanes(client)
                wait_for(lambda: lanes.status("target").held > 0, 30, "deliveries held by the open breaker")
            self.strike(fault.removeprefix("held-"), outage)
            self.target.failure_rate = normal
        elif fault == "gateway-sigkill":
            self.gateway.kill()
            time.sleep(outage)
            self.gateway.start()
        elif fault == "worker-sigkill":
            self.worker.kill()
            time.sleep(outage)
            self.worker.start()
        elif fault in ("redis-shutdown", "redis-sigkill"):
            if fault == "redis-shutdown":
                try:
                    with self.client() as client:
                        client.shutdown()
                except redis.ConnectionError:
                    pass  # the server closes the connection as it goes
                assert self.redis.process is not None
                self.redis.process.wait(10)
            else:
                assert self.redis.process is not None
                self.redis.process.kill()
                self.redis.process.wait()
            time.sleep(outage)
            self.redis = EmbeddedRedis(self.redis.data_dir, port=self.redis.port)
            self.redis.start()
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def repairs(self) -> int:
        with self.client() as client:
            return int(client.get(keys.REPAIRS) or 0)


def run_once(
    fault: str,
    workdir: Path,
    *,
    rate: float = 80,
    duration: float = 20,
    outage: float = 6,
    settle_timeout: float = 120,
    seed: int = 1,
    log: Callable[[str], None] = lambda line: None,
) -> Result:
    """One stack, one fault at a third of the load; returns what was acked, delivered and repeated."""
    stack = Stack(workdir, seed=seed, ordered=fault in ORDERED_FAULTS)
    stack.start()
    result = Result(fault)
    try:
        senders = Senders(stack.url, rate)
        load = threading.Thread(target=senders.run, args=(duration,))
        load.start()
        time.sleep(duration / 3)
        # Strike while retries are waiting (they are, nearly always, by now).
        deadline = time.monotonic() + duration / 3
        while not stack.waiting() and time.monotonic() < deadline:
            time.sleep(0.05)
        result.waiting_at_fault = stack.waiting()
        log(f"{fault}: striking with {result.waiting_at_fault} retries waiting")
        stack.strike(fault, outage)
        load.join()
        acked = set(senders.acked.values())
        started = time.monotonic()
        deadline = started + settle_timeout
        while time.monotonic() < deadline:
            if not acked - stack.target.delivered():
                result.settle_seconds = time.monotonic() - started
                break
            time.sleep(0.2)
        time.sleep(2)  # late repeats, if any, arrive now
        lost = acked - stack.target.delivered()
        result.sent = senders.sent
        result.acked = len(acked)
        result.unavailable = senders.unavailable
        result.refused = senders.refused
        result.lost = len(lost)
        result.lost_ids = sorted(lost)[:20]
        result.repeats, mixed = stack.target.repeats()
        result.mixed_keys = len(mixed)
        result.repairs = stack.repairs()
        if fault in ORDERED_FAULTS:
            with stack.client() as client:
                check = check_order(stack.target.attempts, stored_order(client, acked))
            result.out_of_order, result.overlaps = len(check.out_of_order), len(check.overlaps)
    finally:
        stack.stop()
    return result
