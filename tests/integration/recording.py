"""Consumers for integration tests: they record what they do in the test's own Redis."""

from __future__ import annotations

import os
import time

import redis

from consumers import Event, Reject, consumer


def _client() -> redis.Redis:
    return redis.Redis.from_url(os.environ["HOOKGATE_REDIS__URL"])


@consumer("github", name="test.recorder")
def record(event: Event) -> None:
    with _client() as client:
        client.rpush("test:handled", event.id)
        client.hset("test:keys", event.id, event.idempotency_key)


@consumer("slowpoke", name="test.slow")
def slow(event: Event) -> None:
    """Runs as long as the body's ``sleep`` says, recording when each run starts and ends."""
    with _client() as client:
        client.rpush("test:slow:started", f"{event.id} {os.getpid()} {time.time()}")
        time.sleep(float(event.json().get("sleep", 0)))
        client.rpush("test:slow:finished", event.id)


@consumer("hooks", name="test.hooks-recorder")
def record_hooks(event: Event) -> None:
    with _client() as client:
        client.rpush("test:hooks", f"{event.id} {time.time()}")


@consumer("solo", name="test.solo", max_retries=3, min_backoff_ms=200, max_backoff_ms=5000)
def solo(event: Event) -> None:
    """The only consumer of its source: fails while the body's ``fail`` count lasts (or rejects)."""
    plan = event.json()
    with _client() as client:
        runs = client.rpush(f"test:solo:{event.id}", time.time())
    if plan.get("reject"):
        raise Reject("this payload can never succeed")
    if runs <= int(plan.get("fail", 0)):
        raise RuntimeError(f"planned failure {runs}")
