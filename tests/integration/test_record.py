"""The record with real processes: a gateway and a worker on the tests' redis-server, PostgreSQL of
the tests' own killed under load, and an event past its hot window shown, listed, searched and replayed
with its exact bytes."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from gateway.store import keys
from tests.helpers import Gateway, Process, cli, forward, post, wait_for, write_config
from tests.integration.sink import Sink
from tests.postgres import PostgresServer

READ_TOKEN_HASH = hashlib.sha256(b"read").hexdigest()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone, to kill."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


def rows(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, connect_timeout=3) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT id, status FROM hookgate_events")]


def test_events_wait_in_redis_while_postgresql_is_down_and_are_written_once(
    tmp_path: Path,
    redis_url: str,
    own_postgres: PostgresServer,
    sink: Sink,
    start_gateway: Callable[..., Gateway],
    start_worker: Callable[..., Process],
) -> None:
    record = own_postgres.url
    config = write_config(
        tmp_path,
        forward("target", sink.url("/hook"))
        + f'\n[record]\nurl = "{record}"\nhot_hours = 0.0005\ninterval_seconds = 0.2\n'
        + f'\n[[admin.tokens]]\nname = "ops"\nscopes = ["read"]\ntoken = "sha256:{READ_TOKEN_HASH}"\n',
    )
    migrated = cli("migrate", "--config", str(config), redis_url=redis_url)
    assert migrated.returncode == 0 and "applied 0001_events.sql" in migrated.stdout, migrated.stderr
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    client = redis.Redis.from_url(redis_url)

    sent = [
        post(gateway.url, body=json.dumps({"n": n, "customer": f"cus_{n % 3}"}).encode()) for n in range(10)
    ]
    wait_for(lambda: len(rows(record)) == 10, 20, "the first events in the record")
    own_postgres.kill()
    down_at = time.monotonic()
    for n in range(10, 40):  # ingest never waits for PostgreSQL
        sent.append(post(gateway.url, body=json.dumps({"n": n, "customer": f"cus_{n % 3}"}).encode()))
    assert time.monotonic() - down_at < 10
    wait_for(lambda: len(sink.received) == 40, 30, "every event delivered while PostgreSQL is down")
    ready = httpx.get(f"{gateway.url}/readyz").json()
    assert ready["status"] == "ready" and ready["record_backlog"] >= 30, ready
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert "hookgate_record_backlog" in metrics
    assert client.exists(keys.event(sent[-1])), "nothing leaves Redis while the record is away"
    # Reads need the record: while it is away they say so (503 with Retry-After, CLI exit 1), never 500.
    listed = httpx.get(f"{gateway.url}/api/v1/events", headers={"Authorization": "Bearer read"}, timeout=10)
    assert listed.status_code == 503 and listed.headers["retry-after"], listed.text
    assert listed.headers["content-type"].startswith("application/problem+json")
    listing = cli("events", "list", "--config", str(config), redis_url=redis_url)
    assert listing.returncode == 1 and "cannot reach the record" in listing.stderr, listing.stderr

    own_postgres.start()
    wait_for(lambda: client.zcard(keys.RECORD_PENDING) == 0, 30, "the backlog written")
    stored = rows(record)
    assert sorted(i for i, _ in stored) == sorted(sent), "every acked event once, none twice"
    assert {status for _, status in stored} == {"processed"}
    assert len(sink.received) == 40

    # Past its hot window an event lives in the record only, and looks the same.
    first = sent[0]
    wait_for(lambda: not client.exists(keys.event(first)), 10, "the first event cooled out of Redis")
    shown = cli("events", "show", first, "--json", "--config", str(config), redis_url=redis_url)
    assert shown.returncode == 0, shown.stderr
    event = json.loads(shown.stdout)
    assert event["status"] == "processed" and event["consumers"]["target"] == "processed"
    assert json.loads(event["body"]) == {"n": 0, "customer": "cus_0"}
    found = cli(
        "events", "list", "--json", "--match", '{"customer":"cus_0"}', "--limit", "100",
        "--config", str(config), redis_url=redis_url,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    customer_zero = [e["event_id"] for e in json.loads(found.stdout)]
    assert sorted(customer_zero) == sorted(sent[n] for n in range(40) if n % 3 == 0)

    replayed = cli(
        "replay", "--match", '{"customer":"cus_0","n":0}', "--force", "--yes",
        "--config", str(config), redis_url=redis_url,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    wait_for(lambda: len(sink.received) == 41, 20, "the archived event delivered again")
    original = next(r for r in sink.received if json.loads(r.body) == {"n": 0, "customer": "cus_0"})
    again = sink.received[-1]
    assert again.body == original.body, "the consumer gets the exact original bytes"
