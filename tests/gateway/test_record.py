"""The record (PostgreSQL) in process: the writer, reads from both stores, search, restore, partitions and
the schema check, against the session's real redis-server and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator

import psycopg
import pytest
import redis
import redis.asyncio as aioredis
import structlog

from gateway.config import RetentionSettings, Settings
from gateway.operate import Context, events, stats
from gateway.operate.filters import BadRequest, event_filter
from gateway.platform.connections import is_store_outage
from gateway.processes import bootstrap
from gateway.record import schema
from gateway.record.writer import RecordService, RecordWriter, connect_pool, drop_expired
from gateway.store import keys
from gateway.store.ingest import Incoming, Ingestor
from gateway.store.ledger import Ledger
from gateway.store.paging import Cursor


def record_settings(redis_url: str, record_url: str, **record: object) -> Settings:
    return Settings.model_validate(
        {"redis": {"url": redis_url}, "record": {"url": record_url, "interval_seconds": 0.1, **record}}
    )


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    found = redis.Redis.from_url(redis_url)
    found.set(keys.RECORD_ON, "1")
    yield found
    found.close()


def ingest(
    redis_url: str, bodies: list[bytes], *, at: float | None = None, source: str = "stripe"
) -> list[str]:
    """Store deliveries as the gateway does with the record on (all at one time when ``at``)."""

    async def run() -> list[str]:
        async_client = aioredis.Redis.from_url(redis_url)
        clock = (lambda: at) if at is not None else time.time
        ingestor = Ingestor(async_client, RetentionSettings(), 5, clock=clock, record=True)
        ids = []
        for n, body in enumerate(bodies):
            headers = [("content-type", "application/json"), ("x-delivery", f"d{n}"), ("x-kind", "test")]
            stored = await ingestor.put_if_new(
                Incoming(source, body, headers, None, "invoice.paid", dedupe=False)
            )
            ids.append(stored.event_id)
        await async_client.aclose()
        return ids

    return asyncio.run(run())


def written(record_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(record_url) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT id, status FROM hookgate_events ORDER BY id")]


def test_the_writer_copies_new_events_and_their_changes_then_lets_settled_ones_cool(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    settings = record_settings(redis_url, record_url, hot_hours=0.0005)  # 1.8 s
    ids = ingest(redis_url, [json.dumps({"n": n}).encode() for n in range(3)])
    assert not client.exists(keys.INDEX_ALL), "with the record on, Redis keeps no event indexes"
    assert client.zcard(keys.RECORD_PENDING) == 3
    pool = connect_pool(settings, open_wait=True, writer=True)
    writer = RecordWriter(client, pool, settings)
    assert writer.drain() == 3
    assert written(record_url) == sorted((i, "queued") for i in ids)
    assert client.zcard(keys.RECORD_PENDING) == 0

    ledger = Ledger(client)
    ledger.succeeded(ids[0], "billing", 1, 1.0)  # processed: settled
    ledger.failed(ids[1], "billing", 1, "ValueError: no", rejected=False, final=False)  # retrying
    assert client.zcard(keys.RECORD_PENDING) == 2
    assert writer.drain() == 2
    assert dict(written(record_url)) == {ids[0]: "processed", ids[1]: "retrying", ids[2]: "queued"}
    operations = Context.build(client, settings, record=pool)
    assert stats.summary(operations)["by_status"] == {"queued": 1, "processed": 1, "retrying": 1}

    # Settled and written: its hash and processing record expire after the hot window; the rest stay.
    assert 0 < client.pttl(keys.event(ids[0])) <= 1800
    assert client.pttl(keys.done(ids[0], "billing")) <= 1800
    assert client.pttl(keys.event(ids[1])) > 86400 * 1000
    hot = events.show(operations, ids[0])
    time.sleep(2)
    assert not client.exists(keys.event(ids[0]))
    archived = events.show(operations, ids[0])
    assert archived == hot, "an archived event looks exactly like a hot one"
    pool.close()


def test_a_change_while_the_batch_is_written_is_written_again(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    settings = record_settings(redis_url, record_url)
    [event_id] = ingest(redis_url, [b'{"a": 1}'])
    pool = connect_pool(settings, open_wait=True, writer=True)
    writer = RecordWriter(client, pool, settings)
    real_write = writer._write

    def write_then_change(rows: object) -> None:
        real_write(rows)  # type: ignore[arg-type]
        Ledger(client).succeeded(event_id, "billing", 1, 1.0)  # lands after the read, before the ack

    writer._write = write_then_change  # type: ignore[method-assign]
    writer.write_batch()
    assert client.zcard(keys.RECORD_PENDING) == 1, "the newer change stays pending"
    writer._write = real_write  # type: ignore[method-assign]
    writer.drain()
    assert written(record_url) == [(event_id, "processed")]
    pool.close()


def test_pages_with_ties_skip_and_repeat_nothing(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    settings = record_settings(redis_url, record_url)
    ids = set(ingest(redis_url, [json.dumps({"n": n}).encode() for n in range(23)], at=1_700_000_000.5))
    pool = connect_pool(settings, open_wait=True, writer=True)
    RecordWriter(client, pool, settings, clock=lambda: 1_700_000_000.5).drain()
    operations = Context.build(
        client, Settings.model_validate({"retention": {"events_days": 36500}}), record=pool
    )
    seen: list[str] = []
    after: Cursor | None = None
    while True:
        items, cursor = events.page(operations, event_filter(), limit=5, after=after)
        seen.extend(item["event_id"] for item in items)
        if cursor is None:
            break
        after = Cursor.parse(cursor)
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    pool.close()


def test_search_by_body_containment_and_header_values(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    settings = record_settings(redis_url, record_url)
    bodies = [
        json.dumps({"data": {"object": {"customer": "cus_123", "amount": 5}}}).encode(),
        json.dumps({"data": {"object": {"customer": "cus_999"}}}).encode(),
        b"not json at all",
        b'{"id": "evt_\\ud800", "data": {"object": {"customer": "cus_123"}}}',  # jsonb refuses the escape
        b"[" * 20_000 + b"]" * 20_000,
        b"\xff\xfe binary",
    ]
    ids = ingest(redis_url, bodies)
    pool = connect_pool(settings, open_wait=True, writer=True)
    assert RecordWriter(client, pool, settings).drain() == len(bodies), "every body is stored"
    operations = Context.build(client, settings, record=pool)

    def found(**given: object) -> list[str]:
        return [e.event_id for e in events.walk(operations, event_filter(**given))]  # type: ignore[arg-type]

    assert found(match='{"data":{"object":{"customer":"cus_123"}}}') == [ids[0]]
    assert found(match='{"data":{"object":{"customer":"cus_000"}}}') == []
    assert sorted(found(header=["X-Delivery: d1"])) == [ids[1]]
    assert len(found(header=["x-kind: test"])) == len(bodies)
    assert found(header=["x-kind: test"], match='{"data":{}}') == [ids[1], ids[0]]
    assert events.show(operations, ids[4]) is not None  # stored as bytes, simply never matches
    with pytest.raises(BadRequest, match="match"):
        event_filter(match="{not json")
    with pytest.raises(BadRequest, match="header"):
        event_filter(header=["no colon"])
    pool.close()


def test_search_without_the_record_is_a_clear_error(redis_url: str) -> None:
    settings = Settings.model_validate({"redis": {"url": redis_url}})
    operations = bootstrap.build(settings, "cli", enqueue=False).operate
    with pytest.raises(BadRequest, match=r"need the record"):
        events.page(operations, event_filter(match='{"a":1}'))


def test_replaying_an_archived_event_brings_back_its_exact_bytes_and_headers(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    settings = record_settings(redis_url, record_url, hot_hours=0)
    body = b'{"exact":  "bytes",\n "kept": true}'
    [event_id] = ingest(redis_url, [body])
    before = client.hgetall(keys.event(event_id))
    pool = connect_pool(settings, open_wait=True, writer=True)
    writer = RecordWriter(client, pool, settings)
    writer.drain()
    Ledger(client).succeeded(event_id, "billing", 1, 1.0)
    writer.drain()
    time.sleep(0.05)
    assert not client.exists(keys.event(event_id)), "hot_hours = 0: gone from Redis once written"
    operations = Context.build(client, settings, record=pool)
    assert operations.events.restore(event_id)
    after = client.hgetall(keys.event(event_id))
    assert after[b"body"] == body and after[b"headers"] == before[b"headers"]
    assert {k: v for k, v in after.items() if k != b"status"} == {
        k: v for k, v in before.items() if k != b"status"
    }
    assert client.exists(keys.done(event_id, "billing")), "its consumers' successes come back too"
    assert client.pttl(keys.event(event_id)) > 6 * 86400 * 1000
    pool.close()


def test_partitions_past_the_retention_are_dropped(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    settings = record_settings(redis_url, record_url)
    old_time = time.time() - 9 * 86400
    ingest(redis_url, [b'{"old": 1}'], at=old_time)
    ingest(redis_url, [b'{"new": 1}'])
    pool = connect_pool(settings, open_wait=True, writer=True)
    RecordWriter(client, pool, settings).drain()
    with pool.connection() as conn:
        dropped = drop_expired(conn, 7 * 86400, time.time())
        old_day = dt.datetime.fromtimestamp(old_time, dt.UTC)
        assert dropped == [f"hookgate_events_{old_day:%Y%m%d}"]
        assert conn.execute("SELECT count(*) FROM hookgate_events").fetchone() == (1,)
        left = conn.execute("SELECT sum(events) FROM hookgate_event_counts").fetchone()
        assert left == (1,)
    pool.close()


def test_a_newer_or_unmigrated_schema_is_refused(postgres_server: object, record_url: str) -> None:
    with psycopg.connect(record_url, autocommit=True) as conn:
        assert schema.check(conn) == len(schema.migrations())
        assert schema.migrate(conn) == [], "migrating twice does nothing"
        conn.execute("INSERT INTO hookgate_schema (version, name) VALUES (99, '0099_future.sql')")
        with pytest.raises(schema.SchemaError, match="newer than this hookgate knows"):
            schema.check(conn)
        conn.execute("DELETE FROM hookgate_schema")
        with pytest.raises(schema.SchemaError, match="run `hookgate migrate`"):
            schema.check(conn)


@pytest.mark.parametrize(
    ("body", "searchable"),
    [
        (b'{"a": [1, 2]}', True),
        (b' \n[{"a": 1}]', True),
        (b'{"smile": "\\ud83d\\ude00"}', True),  # a whole surrogate pair is fine
        (b'{"a": 1e400}', True),
        (b"plain text", False),
        (b'"a string"', False),  # JSON, but no document to contain another
        (b'{"a": "\\u0000"}', False),
        (b'{"a": "\\ud800"}', False),
        (b'{"a": NaN}', False),
        (b"[" * 50_000 + b"]" * 50_000, False),
        (b'{"a": "\xff"}', False),
        (b"", False),
    ],
)
def test_which_bodies_are_searchable_json(record_url: str, body: bytes, searchable: bool) -> None:
    """PostgreSQL decides (``hookgate_body_json``): anything it cannot hold as jsonb stays bytes only."""
    with psycopg.connect(record_url) as conn:
        found = conn.execute("SELECT hookgate_body_json(%s)", (body,)).fetchone()
    assert found is not None and (found[0] is not None) == searchable


def test_the_api_and_the_dashboard_search_the_record(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    from litestar.testing import TestClient

    from gateway.processes.app import create_app
    from tests.helpers import bearer, log_in, settings_for

    base = settings_for(redis_url)
    settings = base.model_copy(update={"record": record_settings(redis_url, record_url).record})
    with TestClient(create_app(settings)) as web:
        bodies = [
            json.dumps({"data": {"object": {"customer": f"cus_{n % 2}"}}, "n": n}).encode() for n in range(6)
        ]
        ids = ingest(redis_url, bodies)
        pool = connect_pool(settings, open_wait=True, writer=True)
        RecordWriter(client, pool, settings).drain()
        pool.close()
        wanted = sorted(ids[n] for n in range(6) if n % 2 == 1)

        answer = web.get(
            "/api/v1/events",
            params={"match": '{"data":{"object":{"customer":"cus_1"}}}', "limit": 2},
            headers=bearer("reader"),
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        rest = web.get(
            "/api/v1/events",
            params={"match": '{"data":{"object":{"customer":"cus_1"}}}', "cursor": page["next_cursor"]},
            headers=bearer("reader"),
        ).json()
        assert sorted(e["event_id"] for e in page["items"] + rest["items"]) == wanted
        by_header = web.get(
            "/api/v1/events", params={"header": "X-Delivery: d3"}, headers=bearer("reader")
        ).json()
        assert [e["event_id"] for e in by_header["items"]] == [ids[3]]
        bad = web.get("/api/v1/events", params={"match": "{nope"}, headers=bearer("reader"))
        assert bad.status_code == 422 and "match" in bad.json()["detail"]

        log_in(web, "reader")
        listed = web.get("/dashboard/events", params={"match": '{"n":4}'})
        assert listed.status_code == 200 and 'name="match"' in listed.text
        assert ids[4] in listed.text and ids[2] not in listed.text
        shown = web.get(f"/dashboard/events/{ids[4]}")
        assert shown.status_code == 200 and "cus_0" in shown.text


def test_a_duplicate_delivery_and_a_dead_letter_retry_reach_the_record(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    settings = record_settings(redis_url, record_url, hot_hours=0)

    async def deliver_twice() -> str:
        async_client = aioredis.Redis.from_url(redis_url)
        ingestor = Ingestor(async_client, RetentionSettings(), 5, record=True)
        first = await ingestor.put_if_new(Incoming("stripe", b'{"a": 1}', [], "evt_1", "invoice.paid"))
        again = await ingestor.put_if_new(Incoming("stripe", b'{"a": 1}', [], "evt_1", "invoice.paid"))
        assert again.duplicate and again.event_id == first.event_id
        await async_client.aclose()
        return first.event_id

    pool = connect_pool(settings, open_wait=True, writer=True)
    writer = RecordWriter(client, pool, settings)
    event_id = asyncio.run(deliver_twice())
    writer.drain()
    with psycopg.connect(record_url) as conn:
        assert conn.execute("SELECT deliveries FROM hookgate_events").fetchone() == (2,)

    # Its consumer gives up: a dead letter; written, the event cools out of Redis (hot_hours = 0).
    from gateway.store.dlq import DeadLetters

    sent: list[tuple[str, str]] = []
    letters = DeadLetters(client, Ledger(client), lambda e, c: sent.append((e, c)))
    entry = letters.add(
        event_id=event_id, consumer="billing", error_type="E", error="no", traceback="", attempts=3
    )
    writer.drain()
    assert written(record_url) == [(event_id, "dead")]
    time.sleep(0.05)
    assert not client.exists(keys.event(event_id))
    operations = Context.build(client, settings, record=pool)
    retry = DeadLetters(
        client, operations.ledger, lambda e, c: sent.append((e, c)), operations.events.restore
    )
    assert retry.retry(entry)
    assert sent == [(event_id, "billing")]
    assert client.hget(keys.event(event_id), "body") == b'{"a": 1}', "restored before it is retried"
    assert client.hget(keys.consumer_states(event_id), "billing") == b"queued"
    writer.drain()
    assert written(record_url) == [(event_id, "queued")]
    pool.close()


def test_an_attempt_whose_error_jsonb_cannot_hold_is_written_all_the_same(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    """An exception's message may hold a NUL or a lone surrogate: the batch must not stop on it."""
    settings = record_settings(redis_url, record_url)
    [event_id] = ingest(redis_url, [b'{"a": 1}'])
    Ledger(client).failed(event_id, "billing", 1, "ValueError: \x00 and \ud800", rejected=False, final=False)
    pool = connect_pool(settings, open_wait=True, writer=True)
    assert RecordWriter(client, pool, settings).drain() == 1
    with psycopg.connect(record_url) as conn:
        found = conn.execute("SELECT attempts FROM hookgate_events").fetchone()
    assert found is not None and "ValueError: \ufffd and ?" in json.dumps(found[0], ensure_ascii=False)
    pool.close()


def test_a_record_that_lost_its_schema_is_an_outage_to_readers_and_keeps_events_in_redis(
    redis_url: str, record_url: str, client: redis.Redis
) -> None:
    """A database that came back empty after the processes started: reads answer as in an outage
    (503, CLI exit 1), not 500, and the writer keeps the events in Redis until ``hookgate migrate``."""
    settings = record_settings(redis_url, record_url, timeout_seconds=0.5)
    [event_id] = ingest(redis_url, [b'{"n": 1}'])
    with psycopg.connect(record_url, autocommit=True) as conn:
        conn.execute("DROP TABLE hookgate_events, hookgate_event_counts, hookgate_schema CASCADE")
    pool = connect_pool(settings, open_wait=True)
    operations = Context.build(client, settings, record=pool)
    with pytest.raises(psycopg.errors.UndefinedTable) as raised:
        events.page(operations, event_filter(), limit=10)
    assert is_store_outage(raised.value)

    service = RecordService(client, settings)
    service.start()
    try:
        with structlog.testing.capture_logs() as logs:
            service.tick()  # its connections cannot be prepared: paused, as in an outage
        assert any(e["event"].startswith("record writer paused") for e in logs), logs
        assert client.zscore(keys.RECORD_PENDING, event_id) is not None, "the event waits in Redis"
    finally:
        service.stop()
        pool.close()
