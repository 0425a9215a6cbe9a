"""Consumers for integration tests: they record what they do in the test's own Redis."""

from __future__ import annotations

import os
import time

import redis

from consumers import Event, consumer


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
