"""Real processes for integration tests: ``hookgate serve`` (uvicorn) and ``hookgate worker`` (Dramatiq)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import Gateway, Process, launch_gateway, launch_worker, write_config
from tests.integration.sink import Sink


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path, "")


@pytest.fixture
def start_gateway(tmp_path: Path, config_file: Path) -> Iterator[Callable[..., Gateway]]:
    started: list[Process] = []

    def start(redis_url: str, *, config: Path = config_file, env: dict[str, str] | None = None) -> Gateway:
        gateway = launch_gateway(redis_url, config, tmp_path, env=env)
        started.append(gateway)
        return gateway

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def start_worker(tmp_path: Path, config_file: Path) -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def start(redis_url: str, *, config: Path = config_file) -> Process:
        worker = launch_worker(redis_url, config, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def sink() -> Iterator[Sink]:
    target = Sink()
    yield target
    target.close()
