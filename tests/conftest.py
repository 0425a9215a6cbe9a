"""Session-wide services: a real redis-server and a PostgreSQL server on free ports, started (and
cleaned) only by the tests; and the ``integration`` marker on every test that needs a real service
(``make test-fast`` leaves them)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gateway.processes.dev import EmbeddedRedis, redis_server_binary
from tests.postgres import PostgresServer

IN_CI = os.environ.get("CI") == "true"

TESTS = Path(__file__).resolve().parent
#: Folders whose every test needs a real service or process: redis-server, hookgate, chromium, promtool.
INTEGRATION_FOLDERS = frozenset({"integration", "e2e", "chaos", "deploy", "fuzz"})
#: Fixtures that start (or need) a redis-server or hookgate processes, wherever a test asks for them.
INTEGRATION_FIXTURES = frozenset(
    {"redis_server", "redis_url", "start_gateway", "start_worker", "postgres_server", "record_url"}
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``integration`` every test that needs a real service, so ``-m "not integration"`` is fast.

    By folder, and by fixture (the whole closure, so a fixture built on ``redis_url`` counts too).
    Runs before pytest's own ``-m`` selection sees the items.
    """
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        fixtures = set(getattr(item, "fixturenames", ()))
        if folder in INTEGRATION_FOLDERS or fixtures & INTEGRATION_FIXTURES:
            item.add_marker(pytest.mark.integration)


def need_service(reason: str) -> None:
    """Skip locally, fail in CI: a missing service must never turn CI green."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def start_redis(data_dir: Path) -> EmbeddedRedis:
    try:
        redis_server_binary()
    except (FileNotFoundError, ImportError) as exc:
        need_service(f"no redis-server available: {exc}")
    server = EmbeddedRedis(data_dir)
    server.start()
    return server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One redis-server for the session, on a free port; never the machine's own Redis."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    """A clean database on the session's own redis-server."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (initdb on a free port); never the machine's own."""
    try:
        server = PostgresServer()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        need_service(f"cannot run a PostgreSQL server of our own: {exc}")
    server.start()
    yield server
    server.remove()


@pytest.fixture
def record_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database on the session's PostgreSQL, migrated, dropped after the test."""
    import psycopg

    from gateway.record.schema import migrate

    name = "hookgate_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = postgres_server.database_url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
    yield url
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
