"""``min_replica_acks``: a 202 only once a replica holds the event (Redis WAIT), against a real primary
and replica; and the settings that say where Redis is."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.config import ConfigError, RedisSettings, RetentionSettings, load_settings
from gateway.store import keys
from gateway.store.ingest import Incoming, Ingestor, NotReplicated
from tests.chaos.ha import RedisProcess
from tests.helpers import wait_for


@pytest.fixture
def primary_and_replica(tmp_path: Path):
    primary = RedisProcess(tmp_path / "primary", ["--save", ""])
    primary.start()
    replica = RedisProcess(
        tmp_path / "replica", ["--save", "", "--replicaof", "127.0.0.1", str(primary.port)]
    )
    replica.start()
    wait_for(
        lambda: replica.client().info("replication").get("master_link_status") == "up",
        timeout=10,
        message="the replica to sync",
    )
    yield primary, replica
    replica.kill()
    primary.kill()


def test_a_delivery_is_acked_only_once_a_replica_holds_it(primary_and_replica) -> None:
    primary, replica = primary_and_replica

    async def run() -> None:
        client = aioredis.Redis(port=primary.port)
        ingestor = Ingestor(client, RetentionSettings(), 2, replica_acks=1, replica_ack_timeout_ms=300)
        delivery = Incoming("stripe", b'{"a": 1}', [], "evt_1", "invoice.paid")
        stored = await ingestor.put_if_new(delivery)  # the replica keeps up: acked
        assert not stored.duplicate
        assert replica.client().exists(keys.event(stored.event_id))

        # The replica stalls (SIGSTOP): WAIT sees no replica in time, so no ack.
        assert replica.proc is not None
        replica.proc.send_signal(signal.SIGSTOP)
        second = Incoming("stripe", b'{"a": 2}', [], "evt_2", "invoice.paid")
        started = time.monotonic()
        try:
            with pytest.raises(NotReplicated) as refused:
                await ingestor.put_if_new(second)
        finally:
            replica.proc.send_signal(signal.SIGCONT)
        assert time.monotonic() - started < 1.0, "bounded by replica_ack_timeout_ms"
        assert refused.value.acks == 0 and refused.value.wanted == 1
        # The sender retries: a duplicate of the stored event, acked once the replica has it.
        again = await ingestor.put_if_new(second)
        assert again.duplicate and again.event_id == refused.value.event_id
        assert replica.client().exists(keys.event(again.event_id))
        await client.aclose()

    asyncio.run(run())


def test_the_gateway_answers_503_with_retry_after_when_no_replica_confirms(primary_and_replica) -> None:
    from litestar.testing import TestClient

    from gateway.config import Settings
    from gateway.processes.app import create_app
    from tests.helpers import GITHUB_SECRET, github_headers

    primary, replica = primary_and_replica
    settings = Settings.model_validate(
        {
            "redis": {
                "url": f"redis://127.0.0.1:{primary.port}",
                "min_replica_acks": 1,
                "replica_ack_timeout_ms": 200,
            },
            "sources": {"github": {"provider": "github", "secret": GITHUB_SECRET}},
        }
    )
    body = b'{"zen": "replicated"}'
    headers = github_headers(body, delivery="d-1")
    with TestClient(create_app(settings)) as web:
        assert web.post("/webhooks/github", content=body, headers=headers).status_code == 202
        replica.kill()
        time.sleep(0.2)
        other = b'{"zen": "alone"}'
        answer = web.post("/webhooks/github", content=other, headers=github_headers(other, delivery="d-2"))
        assert answer.status_code == 503 and answer.headers["retry-after"]
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_redis_settings_say_where_redis_is(tmp_path: Path) -> None:
    sentinel = RedisSettings(sentinels=("10.0.0.5:26379", "sentinel-2:26379"), service_name="hookgate")
    assert sentinel.configured and sentinel.sentinel_addresses() == [
        ("10.0.0.5", 26379),
        ("sentinel-2", 26379),
    ]
    config = tmp_path / "hookgate.toml"
    for bad, message in (
        ('url = "redis://x"\nsentinels = ["a:1"]\nservice_name = "s"', "url or sentinels, not both"),
        ('sentinels = ["a:1"]', "need service_name"),
        ('sentinels = ["a"]\nservice_name = "s"', "is not host:port"),
        ('service_name = "s"', "is for sentinels"),
        ("min_replica_acks = -1", "min_replica_acks"),
    ):
        config.write_text("[redis]\n" + bad + "\n")
        with pytest.raises(ConfigError, match=message):
            load_settings(config, environ={})
