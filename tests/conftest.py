"""Session-wide services: a real redis-server on a free port, started (and flushed) only by the tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gateway.dev import EmbeddedRedis, redis_server_binary

IN_CI = os.environ.get("CI") == "true"


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
