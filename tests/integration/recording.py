"""A consumer for integration tests: records each event it handles in the test's own Redis."""

from __future__ import annotations

import os

import redis

from consumers import Event, consumer


@consumer("github", name="test.recorder")
def record(event: Event) -> None:
    client = redis.Redis.from_url(os.environ["HOOKGATE_REDIS__URL"])
    try:
        client.rpush("test:handled", event.id)
        client.hset("test:keys", event.id, event.idempotency_key)
    finally:
        client.close()
