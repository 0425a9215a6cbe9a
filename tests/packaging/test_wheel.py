"""What we ship runs as shipped: every step of deploy/Dockerfile but the base image.

The build stage's own command (``deploy/build-wheels.sh``, from uv.lock) runs on a copy of exactly
what the Dockerfile COPYs; the wheels it makes are installed, and nothing else, into a fresh
virtualenv that cannot see the checkout; hookgate then runs from that virtualenv, from another folder,
as an unprivileged user, with the image's ENV and a metrics folder that does not exist yet:
``migrate`` against a real PostgreSQL, ``check-config``, and ``serve`` and ``worker`` as real processes
on a real redis-server, through a signed delivery forwarded end to end, the dashboard and /metrics.
No container runtime can pull the base image here, so no image is built.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
import pytest

from gateway.processes.dev import free_port
from tests.conftest import need_service
from tests.helpers import GITHUB_SECRET, Process, github_headers, wait_for
from tests.packaging.dockerfile import Image, read_image
from tests.postgres import PostgresServer

pytestmark = pytest.mark.integration  # it builds wheels and runs hookgate: never in `make test-fast`

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "consumers", "signatures", "examples")


# The build and the install, once for the module's tests


@dataclass(frozen=True)
class Shipped:
    """The wheels and the virtualenv made from them alone."""

    root: Path
    wheels: Path
    venv: Path
    image: Image

    @property
    def hookgate(self) -> Path:
        return self.venv / "bin" / "hookgate"

    @property
    def wheel(self) -> Path:
        return next(self.wheels.glob("hookgate-*.whl"))


def _run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a build step; its output when it succeeds, else the test fails showing it."""
    answer = subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False)
    assert answer.returncode == 0, f"{shlex.join(args)} failed:\n{answer.stdout}\n{answer.stderr}"
    return answer.stdout


def build_context(image: Image, into: Path) -> None:
    """Exactly what the build stage COPYs into its working folder, as COPY places it."""
    for sources, target in image.copies:
        for source in sources:
            origin = ROOT / source
            assert origin.exists(), f"the Dockerfile copies {source}, which does not exist"
            if origin.is_dir():  # a folder's contents go into the target
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(origin, into / target, dirs_exist_ok=True, ignore=ignore)
                continue
            into_folder = target.endswith("/") or target == "." or len(sources) > 1
            where = into / target / origin.name if into_folder else into / target
            where.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, where)


def base_python() -> str:
    """One interpreter, with pip, that the unprivileged user can run: the build stage's ``python3`` and
    the virtualenv's base, as one image serves both stages (the lock's markers may name patch versions:
    wheels chosen by one Python can miss a package another needs). This test's own when it can."""
    probe = "import sys, pip; print(sys.version)"
    candidates = [
        os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
        shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin"),
    ]
    for candidate in filter(None, candidates):
        answers = [
            subprocess.run(
                [*prefix, candidate, "-c", probe], capture_output=True, text=True, timeout=60, check=False
            )
            for prefix in ([], as_user())
        ]
        # Same answer as root and as the user: the user runs this very interpreter.
        if all(a.returncode == 0 for a in answers) and answers[0].stdout == answers[1].stdout:
            return candidate
    need_service(f"no Python with pip that the unprivileged user can run among {candidates}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def shipped() -> Iterator[Shipped]:
    image = read_image()
    uv = str(Path(sys.executable).with_name("uv"))
    version = _run([uv, "--version"]).split()[1]
    assert version == image.uv_version, f"the test has uv {version}, the image uv {image.uv_version}"
    python = base_python()

    # Readable by the unprivileged user that runs hookgate (mkdtemp makes it 0700, pytest's tmp too).
    root = Path(tempfile.mkdtemp(prefix="hookgate-wheel-"))
    root.chmod(0o755)
    try:
        # The build stage's `uv` and `python3`, first on PATH.
        tools = root / "tools"
        tools.mkdir()
        (tools / "uv").symlink_to(uv)
        (tools / "python3").symlink_to(python)
        context, wheels = root / "context", root / "wheels"
        build_context(image, context)
        # The build stage's RUN, word for word, but for the folder the wheels go to.
        command = image.build_command.replace(
            f"build-wheels.sh {image.wheel_dir}", f"build-wheels.sh {shlex.quote(str(wheels))}"
        )
        _run(
            ["sh", "-c", command],
            cwd=context,
            env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"},
        )

        # The image installs these wheels with pip; uv installs the same files: with --no-index they are
        # the only ones it can see, and --require-hashes checks each against the same requirements.txt
        # (the lock's hashes). uv does it in seconds where pip takes half a minute. Compiled, as pip does:
        # the user hookgate runs as cannot write __pycache__ there, in the image or here.
        venv = root / "venv"
        _run([python, "-m", "venv", "--without-pip", str(venv)])
        install = [
            uv,
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            str(venv / "bin" / "python"),
        ]
        _run([*install, "--no-index", "--find-links", str(wheels), "--require-hashes", "-r",
              str(wheels / "requirements.txt")])  # fmt: skip
        _run([*install, "--no-index", "--no-deps", str(next(wheels.glob("hookgate-*.whl")))])
        _run([uv, "pip", "check", "--python", str(venv / "bin" / "python")])
        yield Shipped(root, wheels, venv, image)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# Running as the image runs


def as_user() -> list[str]:
    """The prefix that drops root to nobody (the image runs as an unprivileged user); nothing when the
    tests already run as a user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    runuser = shutil.which("runuser")
    assert runuser, "running as root needs setpriv or runuser to drop to nobody"
    return [runuser, "-u", "nobody", "--"]


def user_owned(path: Path, mode: int = 0o755) -> Path:
    """A folder the user hookgate runs as may write to."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    if os.geteuid() == 0:
        os.chown(path, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
    return path


@dataclass
class Container:
    """One "container" of the image: its user's home as working directory, a /tmp of its own, and the
    image's ENV with the config and metrics folder moved into them."""

    shipped: Shipped
    home: Path
    env: dict[str, str]
    metrics_dir: Path

    def command(self, *args: str) -> list[str]:
        return [*as_user(), str(self.shipped.hookgate), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            cwd=self.home,
            env=self.env,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def start(self, name: str, *args: str) -> Process:
        log = self.home.parent / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                self.command(*args),
                cwd=self.home,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return Process(proc, log)


@pytest.fixture
def container(shipped: Shipped) -> Container:
    base = Path(tempfile.mkdtemp(prefix="hookgate-container-", dir=shipped.root))
    base.chmod(0o755)
    home = user_owned(base / "srv")
    tmp = user_owned(base / "tmp", 0o1777)
    image_metrics = Path(shipped.image.env["PROMETHEUS_MULTIPROC_DIR"])
    env = {
        "PATH": f"{shipped.venv / 'bin'}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        **shipped.image.env,
        "HOOKGATE_CONFIG": str(home / "hookgate.toml"),
        # Where the image's /tmp/hookgate-metrics would be: in a /tmp nothing has written to yet.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / image_metrics.relative_to("/tmp")),
    }
    return Container(shipped, home, env, Path(env["PROMETHEUS_MULTIPROC_DIR"]))


@pytest.fixture
def record_database(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database: ``hookgate migrate`` makes the schema."""
    name = "hookgate_wheel_" + uuid.uuid4().hex[:10]
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_server.database_url(name)
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Target:
    """A forward's target: an HTTP server that records every request it answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


# The tests


def test_the_wheel_holds_every_file_the_packages_read(shipped: Shipped) -> None:
    """Lua scripts, dashboard templates and static files, SQL migrations: each non-Python file of the
    packages is in the wheel, so a new kind of data file cannot be left out unnoticed."""
    in_wheel = set(zipfile.ZipFile(shipped.wheel).namelist())
    in_tree = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert in_tree, "the packages have data files"
    assert sorted(in_tree - in_wheel) == []


def test_the_installed_hookgate_runs_as_the_image_runs_it(
    shipped: Shipped, container: Container, redis_url: str, record_database: str, target: Target
) -> None:
    gateway_port = free_port()
    (container.home / "hookgate.toml").write_text(
        f"""
[redis]
url = "{redis_url}"

[record]
url = "{record_database}"
interval_seconds = 0.2

[admin]
public_metrics = true
session_secret = "a-long-random-session-secret-for-the-wheel-test"

[sources.github]
provider = "github"
secret = "{GITHUB_SECRET}"

[consumers]
modules = ["examples.log_github"]

[[forward]]
name = "mirror"
source = "github"
url = "{target.url}/hooks"
timeout_seconds = 10

[worker]
threads = 2
idle_poll_ms = 25
"""
    )
    assert not container.metrics_dir.exists()

    # The packages come from the virtualenv, not the checkout (no PYTHONPATH, another working folder).
    where = subprocess.run(
        [*as_user(), str(shipped.venv / "bin" / "python"), "-c",
         "import gateway, consumers, signatures, examples; "
         "print('\\n'.join(m.__file__ for m in (gateway, consumers, signatures, examples)))"],
        capture_output=True, text=True, cwd=container.home, env=container.env, timeout=30, check=True,
    ).stdout.split()  # fmt: skip
    site = (shipped.venv / "lib").resolve()
    assert len(where) == 4 and all(Path(f).resolve().is_relative_to(site) for f in where), where
    assert "PYTHONPATH" not in container.env

    migrated = container.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0001_events.sql" in migrated.stdout
    assert container.metrics_dir.is_dir(), "hookgate made the metrics folder the image names"

    checked = container.run("check-config", "--json")
    assert checked.returncode == 0, checked.stderr
    assert '"name": "mirror"' in checked.stdout and '"name": "example.log-github"' in checked.stdout
    shipped_migrations = len(list((ROOT / "gateway" / "record" / "migrations").glob("*.sql")))
    assert f'"schema": {shipped_migrations}' in checked.stdout

    worker = container.start("worker", "worker")
    gateway = container.start("gateway", "serve", "--host", "127.0.0.1", "--port", str(gateway_port))
    url = f"http://127.0.0.1:{gateway_port}"
    try:
        wait_for(lambda: "worker started" in worker.output() or worker.proc.poll() is not None, 30)
        assert worker.proc.poll() is None, worker.output()

        def healthy() -> bool:
            assert gateway.proc.poll() is None, gateway.output()
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 30, "the gateway's /healthz")

        body = '{"zen": "Keep it logically awesome.",  "caf\u00e9": [1, 2.50]}\n'.encode()
        answer = httpx.post(f"{url}/webhooks/github", content=body, headers=github_headers(body))
        assert answer.status_code == 202, answer.text
        event_id = answer.json()["event_id"]
        wait_for(lambda: target.received, 20, "the forward to reach its target")
        path, headers, forwarded = target.received[0]
        assert (path, forwarded) == ("/hooks", body)
        headers = {name.lower(): value for name, value in headers.items()}
        assert headers["x-hookgate-event-id"] == event_id and headers["x-github-event"] == "push"

        for static in ("dashboard.css", "dashboard.js", "favicon.svg"):
            assert httpx.get(f"{url}/dashboard/static/{static}").status_code == 200, static
        login = httpx.get(f"{url}/dashboard/login")
        assert login.status_code == 200 and "<form" in login.text

        def scraped() -> str:
            metrics = httpx.get(f"{url}/metrics")
            assert metrics.status_code == 200
            return metrics.text

        text = scraped()
        assert 'hookgate_deliveries_total{outcome="accepted",source="github"} 1.0' in text, text
        # The worker's counters reach the gateway's /metrics through the shared multiprocess folder.
        wait_for(
            lambda: (
                'hookgate_consumer_attempts_total{consumer="mirror",outcome="succeeded"} 1.0' in scraped()
            ),
            20,
            "the worker's metrics in the gateway's /metrics",
        )

        def recorded() -> bool:
            with psycopg.connect(record_database) as conn:
                row = conn.execute("SELECT body FROM hookgate_events WHERE id = %s", (event_id,)).fetchone()
            return row is not None and bytes(row[0]) == body

        wait_for(recorded, 20, "the event in the record")
    finally:
        codes = {"gateway": gateway.stop(), "worker": worker.stop()}
    logs = gateway.output() + worker.output()
    # uvicorn ends the gateway with the signal it caught, once it has shut down cleanly.
    assert codes["worker"] == 0 and codes["gateway"] in (0, -signal.SIGTERM), (codes, logs)
    assert "Traceback" not in logs, logs


def test_the_installed_hookgate_says_why_it_cannot_use_the_metrics_folder(container: Container) -> None:
    """A folder the image's user may not write to, or not create: exit 2 naming the variable."""
    locked = container.home.parent / "read-only"
    locked.mkdir(mode=0o555)
    for folder in (locked, locked / "hookgate-metrics"):
        container.env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        answer = container.run("serve")
        assert answer.returncode == 2, answer.stdout + answer.stderr
        assert f"PROMETHEUS_MULTIPROC_DIR={folder}" in answer.stderr, answer.stderr
        assert "Traceback" not in answer.stderr
