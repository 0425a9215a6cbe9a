"""The atomic ingest step against fakeredis (with Lua): dedupe, exact storage, TTLs, Dramatiq's format."""

from __future__ import annotations

import asyncio
import json
import time

import fakeredis
import pytest
from dramatiq import Message

from gateway.config import RedisSettings, RetentionSettings
from gateway.platform.connections import REDIS_ERRORS, async_client
from gateway.store import keys
from gateway.store.ingest import Incoming, Ingestor, new_event_id


@pytest.fixture
def client():
    return fakeredis.FakeAsyncRedis()


@pytest.fixture
def ingestor(client):
    return Ingestor(client, RetentionSettings(), timeout=1.0)


def incoming(delivery_id: str | None = "d-1", body: bytes = b'{"a": 1}', dedupe: bool = True) -> Incoming:
    return Incoming(
        "github",
        body,
        [("x-github-delivery", "d-1"), ("x-a", "1"), ("x-a", "2")],
        delivery_id,
        "push",
        dedupe,
    )


async def test_new_event_is_stored_indexed_and_enqueued(client, ingestor):
    result = await ingestor.put_if_new(incoming())
    assert not result.duplicate
    event = await client.hgetall(keys.event(result.event_id))
    assert event[b"body"] == b'{"a": 1}'
    assert json.loads(event[b"headers"]) == [["x-github-delivery", "d-1"], ["x-a", "1"], ["x-a", "2"]]
    assert event[b"status"] == b"queued"
    assert event[b"delivery_id"] == b"d-1"
    assert await client.ttl(keys.event(result.event_id)) == 7 * 86400
    assert await client.ttl(keys.dedupe("github", "d-1")) == 168 * 3600
    assert await client.zscore(keys.source_index("github"), result.event_id) is not None

    [message_id] = await client.lrange(keys.dramatiq_queue(keys.DISPATCH_QUEUE), 0, -1)
    raw = await client.hget(keys.dramatiq_messages(keys.DISPATCH_QUEUE), message_id)
    message = Message.decode(raw)
    assert (message.actor_name, message.queue_name, message.args) == (
        "dispatch",
        "dispatch",
        (result.event_id, "github", "push"),
    )
    assert message.options["redis_message_id"] == message_id.decode()


async def test_duplicate_returns_the_first_event_and_counts_the_delivery(client, ingestor):
    first = await ingestor.put_if_new(incoming())
    again = await ingestor.put_if_new(incoming())
    assert again.duplicate and again.event_id == first.event_id
    assert await client.hget(keys.event(first.event_id), "deliveries") == b"2"
    assert await client.llen(keys.dramatiq_queue(keys.DISPATCH_QUEUE)) == 1


async def test_without_delivery_id_dedupe_uses_a_short_body_hash_window(client, ingestor):
    first = await ingestor.put_if_new(incoming(delivery_id=None))
    again = await ingestor.put_if_new(incoming(delivery_id=None))
    other = await ingestor.put_if_new(incoming(delivery_id=None, body=b"different"))
    assert again.duplicate and again.event_id == first.event_id
    assert not other.duplicate
    assert await client.hget(keys.event(first.event_id), "dedupe_basis") == b"body_sha256"
    hash_keys = await client.keys(keys.body_hash_dedupe("github", "*"))
    assert len(hash_keys) == 2
    assert await client.ttl(hash_keys[0]) == 3600


async def test_dedupe_off_stores_every_delivery(client, ingestor):
    first = await ingestor.put_if_new(incoming(dedupe=False))
    again = await ingestor.put_if_new(incoming(dedupe=False))
    assert not first.duplicate and not again.duplicate
    assert first.event_id != again.event_id
    assert await client.keys(keys.dedupe("*", "*")) == []
    assert not await client.exists(keys.NO_DEDUPE)


async def test_very_long_delivery_ids_are_hashed_into_the_key_and_stored_bounded(client, ingestor):
    long_id = "x" * 5000
    first = await ingestor.put_if_new(incoming(delivery_id=long_id))
    again = await ingestor.put_if_new(incoming(delivery_id=long_id))
    assert again.duplicate and again.event_id == first.event_id
    [key] = await client.keys(keys.dedupe("*", "*"))
    assert len(key) < 120
    assert await client.hget(keys.event(first.event_id), "delivery_id") == long_id[:256].encode()


async def test_a_hung_redis_times_out_quickly():
    release = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = async_client(RedisSettings(url=f"redis://127.0.0.1:{port}/0"))
    hung = Ingestor(client, RetentionSettings(), timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(REDIS_ERRORS):
            await hung.put_if_new(incoming())
        assert time.monotonic() - started < 1.5
    finally:
        release.set()
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_a_burst_beyond_the_pool_waits_for_connections_instead_of_failing(redis_url):
    # What is tested is waiting for a pooled connection, not how fast a connection opens: generous
    # timeouts, so a pause of this process (a full collection late in the suite) cannot fail it.
    client = async_client(
        RedisSettings(url=redis_url, max_connections=4, connect_timeout_seconds=5, timeout_seconds=5)
    )
    ingestor = Ingestor(client, RetentionSettings(), timeout=5)
    try:
        results = await asyncio.gather(
            *(ingestor.put_if_new(incoming(delivery_id=f"d-{n}")) for n in range(300))
        )
    finally:
        await client.aclose()
    assert len({r.event_id for r in results}) == 300


def test_event_ids_are_unique_and_time_ordered():
    ids = [new_event_id(1_700_000_000 + i) for i in range(100)]
    assert len(set(ids)) == 100
    assert ids == sorted(ids)
    assert all(i.startswith("evt_") for i in ids)


async def test_an_odd_event_type_survives_in_the_dispatch_message(client, ingestor):
    odd = 'quote " backslash \\ é </script>'
    result = await ingestor.put_if_new(Incoming("github", b"{}", [], "d-odd", odd))
    [message_id] = await client.lrange(keys.dramatiq_queue(keys.DISPATCH_QUEUE), 0, -1)
    message = Message.decode(await client.hget(keys.dramatiq_messages(keys.DISPATCH_QUEUE), message_id))
    assert message.args == (result.event_id, "github", odd)
