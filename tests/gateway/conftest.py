"""Fixtures of the in-process gateway tests."""

from __future__ import annotations

from collections.abc import Iterator

import dramatiq
import pytest
from litestar.testing import TestClient


@pytest.fixture
def replay_worker(client: TestClient) -> Iterator[dramatiq.Worker]:
    """A Dramatiq worker on the bulk-replay queue of the app's own broker (the test module's ``client``),
    as a hookgate worker runs it."""
    job = client.app.state.admin.writer.replay_job
    worker = dramatiq.Worker(job.broker, queues={job.queue_name}, worker_threads=1, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()
