"""One bootstrap wires every process for its role; only a worker makes its broker Dramatiq's global one
(a web or CLI process enqueues through its own broker object)."""

from __future__ import annotations

import dramatiq.broker
import pytest

from gateway.config import Settings
from gateway.processes import bootstrap


def test_only_a_worker_sets_dramatiqs_global_broker(redis_url, monkeypatch):
    monkeypatch.setattr(dramatiq.broker, "global_broker", None)
    settings = Settings.model_validate({"redis": {"url": redis_url}})
    for role in ("web", "cli"):
        parts = bootstrap.build(settings, role)
        assert parts.broker is not None and parts.replay_job is parts.operate.replay_job is not None
        assert parts.replay_job.broker is parts.broker and parts.operate.actors is parts.actors
        assert dramatiq.broker.global_broker is None, role
    reader = bootstrap.build(settings, "web", enqueue=False)
    assert reader.broker is None and reader.operate.actors is None
    worker = bootstrap.build(settings, "worker")
    assert dramatiq.broker.global_broker is worker.broker


def test_a_worker_cannot_be_built_without_its_broker(redis_url):
    with pytest.raises(ValueError, match="needs its broker"):
        bootstrap.build(Settings.model_validate({"redis": {"url": redis_url}}), "worker", enqueue=False)
