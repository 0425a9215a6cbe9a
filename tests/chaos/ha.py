"""High availability with real processes on loopback: a Redis primary with replicas and three
sentinels (``redis-server --sentinel``), two gateways behind Debian's haproxy, two workers, and the
chaos harness's senders and target. Used by ``test_ha.py``."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import redis

from gateway.processes.dev import free_port, redis_server_binary
from tests.chaos.harness import BODY, Child, Senders, Target
from tests.helpers import wait_for

HAPROXY = """
global
    maxconn 2048

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    option httpchk GET /readyz
    default-server inter 200ms fall 1 rise 2

frontend webhooks
    # With no gateway ready (Redis failing over), haproxy answers 503 itself: senders retry it too.
    http-after-response set-header Retry-After 1 if {{ status 503 }} !{{ res.hdr(Retry-After) -m found }}
    bind 127.0.0.1:{port}

    default_backend gateways

backend gateways
    balance roundrobin
{servers}
"""


def haproxy_binary() -> str | None:
    return shutil.which("haproxy")


class RedisProcess:
    """One redis-server (primary, replica or sentinel) with its own folder and port."""

    def __init__(self, folder: Path, args: list[str], port: int | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.folder / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [redis_server_binary(), *self.args, "--port", str(self.port), "--dir", str(self.folder)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.folder,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_timeout=1).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)


class HAStack:
    """Primary, ``replicas`` replicas, three sentinels, two gateways behind haproxy, two workers."""

    def __init__(
        self,
        workdir: Path,
        *,
        min_replica_acks: int,
        replicas: int = 2,
        shutdown_delay: float = 1.0,
        sentinels: bool = True,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        persist = ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
        self.primary = RedisProcess(workdir / "primary", persist)
        self.replicas = [
            RedisProcess(
                workdir / f"replica-{i}", [*persist, "--replicaof", "127.0.0.1", str(self.primary.port)]
            )
            for i in range(replicas)
        ]
        self.sentinels: list[RedisProcess] = []
        if sentinels:
            for i in range(3):
                folder = workdir / f"sentinel-{i}"
                folder.mkdir(parents=True, exist_ok=True)
                conf = folder / "sentinel.conf"
                conf.write_text(
                    f"sentinel monitor hookgate 127.0.0.1 {self.primary.port} 2\n"
                    "sentinel down-after-milliseconds hookgate 1000\n"
                    "sentinel failover-timeout hookgate 5000\n"
                    "sentinel parallel-syncs hookgate 2\n"
                )
                self.sentinels.append(RedisProcess(folder, [str(conf), "--sentinel"]))
        self.target = Target(0.0, seed=1)
        if sentinels:
            addresses = ", ".join(f'"127.0.0.1:{s.port}"' for s in self.sentinels)
            where = f'sentinels = [{addresses}]\nservice_name = "hookgate"\n'
        else:
            where = f'url = "redis://127.0.0.1:{self.primary.port}"\n'
        self.config = workdir / "hookgate.toml"
        self.config.write_text(
            "[redis]\n" + where + f"min_replica_acks = {min_replica_acks}\nreplica_ack_timeout_ms = 300\n"
            "timeout_seconds = 0.5\nconnect_timeout_seconds = 0.3\n\n"
            f"[gateway]\nretry_after_seconds = 1\nshutdown_delay_seconds = {shutdown_delay}\n"
            + BODY.format(target=self.target.url)
        )
        env = {"HOOKGATE_LOGGING__FORMAT": "json"}
        self.gateway_ports = [free_port(), free_port()]
        self.gateways = [
            Child(
                ["serve", "--config", str(self.config), "--port", str(port)],
                env,
                workdir / f"gateway-{port}.log",
            )
            for port in self.gateway_ports
        ]
        self.workers = [
            Child(["worker", "--config", str(self.config)], env, workdir / f"worker-{i}.log")
            for i in range(2)
        ]
        self.port = free_port()
        self.haproxy: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.primary.start()
        for replica in self.replicas:
            replica.start()
        for sentinel in self.sentinels:
            sentinel.start()
        self.wait_for_replicas(len(self.replicas))
        for child in [*self.gateways, *self.workers]:
            child.start()
        for port in self.gateway_ports:
            self.wait_ready(f"http://127.0.0.1:{port}")
        for worker in self.workers:
            self.wait_for_log(worker, "worker started")
        haproxy = haproxy_binary()
        assert haproxy is not None
        servers = "\n".join(
            f"    server gateway-{i} 127.0.0.1:{port} check" for i, port in enumerate(self.gateway_ports)
        )
        conf = self.workdir / "haproxy.cfg"
        conf.write_text(HAPROXY.format(port=self.port, servers=servers))
        with (self.workdir / "haproxy.log").open("ab") as log:
            self.haproxy = subprocess.Popen(
                [haproxy, "-f", str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_ready(self.url, timeout=15)

    def wait_for_replicas(self, count: int, timeout: float = 15) -> None:
        def online() -> int:
            info = self.primary.client().info("replication")
            replicas = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
            return sum(1 for r in replicas if r.get("state") == "online")

        wait_for(lambda: online() >= count, timeout, "the replicas to sync")

    @staticmethod
    def wait_ready(url: str, timeout: float = 30) -> None:
        """Until ``url``'s /readyz answers 200 (a gateway, or haproxy in front of them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{url} did not become ready")

    @staticmethod
    def wait_for_log(child: Child, text: str, timeout: float = 30) -> None:
        wait_for(
            lambda: text in child.log.read_text(errors="replace"),
            timeout=timeout,
            message=f"{child.args[0]} to log {text!r}",
        )

    def primary_port(self) -> int:
        """The port of the primary the sentinels name now."""
        name = self.sentinels[0].client().execute_command("SENTINEL", "get-master-addr-by-name", "hookgate")
        return int(name[1])

    def stop(self) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(10)
        for child in [*self.gateways, *self.workers]:
            child.kill(signal.SIGTERM)
        for server in [*self.sentinels, *self.replicas, self.primary]:
            server.kill()
        self.target.close()


def lost(senders: Senders, target: Target, timeout: float) -> set[str]:
    """The acked events the target has not had a 2xx for, once they stop arriving (or ``timeout``)."""
    acked = set(senders.acked.values())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and acked - target.delivered():
        time.sleep(0.2)
    return acked - target.delivered()
