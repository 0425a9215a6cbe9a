#!/usr/bin/env python3
"""The record (PostgreSQL) benchmark, on a redis-server and a PostgreSQL server of its own:

(b) hookgate's ingest ratio to the pipeline floor (shared ``bench/ratio.py``) without the record, then
    with it (the gateway's config names the record; ingest must not depend on it);
(a) the writer's sustained rate into PostgreSQL (draining a backlog of 4 KiB events) against the
    gateway's HTTP ingest rate with the record on, measured in (b) of the same run;
(c) with ``--stored`` events in the record (default 1,000,000, bulk-loaded with generate_series: small
    JSON bodies, spread over 7 days), p50/p95 of ``events stats``, a first list page, a containment
    search and the dashboard overview's reads;
(d) Redis memory per event (``INFO memory``) without the record, with it before the writer, and with it
    once events are settled, written and cooled (hot window 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.config import RedisSettings, RetentionSettings, Settings  # noqa: E402
from gateway.operate import Context, events, stats  # noqa: E402
from gateway.operate.filters import event_filter  # noqa: E402
from gateway.platform.connections import async_client  # noqa: E402
from gateway.processes.dev import EmbeddedRedis  # noqa: E402
from gateway.record.schema import migrate  # noqa: E402
from gateway.record.writer import RecordWriter, connect_pool, day_of, ensure_partition  # noqa: E402
from gateway.store import keys  # noqa: E402
from gateway.store.ingest import Incoming, Ingestor  # noqa: E402
from gateway.store.ledger import Ledger  # noqa: E402
from tests.bench import floor  # noqa: E402
from tests.bench.floor import Measured  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

BODY = json.dumps({"action": "opened", "data": {"object": {"customer": "cus_0"}}, "pad": "x" * 3900}).encode()


async def ingest(url: str, total: int, *, record: bool) -> float:
    """Store ``total`` 4 KiB events as the gateway does (500 in flight); events per second."""
    client = async_client(RedisSettings(url=url))
    ingestor = Ingestor(client, RetentionSettings(), timeout=5, record=record)
    headers = [("content-type", "application/json"), ("x-github-event", "push")]
    started = time.perf_counter()

    async def one(n: int) -> None:
        await ingestor.put_if_new(Incoming("bench", BODY, headers, f"d-{n}", "push"))

    for start in range(0, total, 500):
        await asyncio.gather(*(one(n) for n in range(start, min(start + 500, total))))
    elapsed = time.perf_counter() - started
    await client.aclose()
    return total / elapsed


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def ingest_ratios(record_url: str, folder: Path, passed_on: list[str]) -> tuple[Measured, Measured] | None:
    """(b): ratio.py against ``hookgate serve`` without the record, then with it."""
    if reason := floor.missing():
        print(f"(b) skipped: {reason}")
        return None
    plain = folder / "plain.toml"
    plain.write_text(floor.CONFIG)
    recorded = folder / "record.toml"
    recorded.write_text(floor.CONFIG + f'\n[record]\nurl = "{record_url}"\n')
    env = {name: value for name, value in os.environ.items() if not name.startswith("HOOKGATE_")}
    print("ingest without the record:", flush=True)
    off = floor.measure(plain, passed_on, env)
    print("ingest with the record on:", flush=True)
    on = floor.measure(recorded, passed_on, env)
    return off, on


def writer_and_memory(redis_url: str, record_url: str, events: int) -> dict[str, float]:
    """(a) and (d) on a fresh Redis: the writer's drain rate and used_memory per event in three states."""
    client = redis.Redis.from_url(redis_url)
    settings = Settings.model_validate(
        {"redis": {"url": redis_url}, "record": {"url": record_url, "hot_hours": 0}}
    )
    found: dict[str, float] = {}
    base = used_memory(client)
    asyncio.run(ingest(redis_url, events, record=False))
    found["without"] = (used_memory(client) - base) / events
    client.flushall()
    client.set(keys.RECORD_ON, "1")
    base = used_memory(client)
    found["store_step"] = asyncio.run(ingest(redis_url, events, record=True))
    found["pending"] = (used_memory(client) - base) / events
    pool = connect_pool(settings, open_wait=True, writer=True)
    writer = RecordWriter(client, pool, settings)
    started = time.perf_counter()
    found["writer"] = writer.drain() / (time.perf_counter() - started)
    ledger = Ledger(client)  # settle them (no worker runs), write again, and let them cool
    for event_id in [m.decode() for m in client.zrange(keys.UNSETTLED, 0, -1)]:
        ledger.succeeded(event_id, "bench", 1, 1.0)
    writer.drain()
    queue = keys.DISPATCH_QUEUE  # the messages no worker took are not what is measured
    client.delete(keys.dramatiq_messages(queue), keys.dramatiq_queue(queue))
    for _ in client.scan_iter(count=1000):  # a key that has expired goes when it is next seen
        pass
    found["cooled"] = (used_memory(client) - base) / events
    pool.close()
    client.close()
    return found


def load(record_url: str, stored: int, now: float) -> None:
    """``stored`` small events over the last 6.9 days, in one statement, with their counts."""
    with psycopg.connect(record_url, autocommit=True) as conn:
        for days in range(9):
            ensure_partition(conn, day_of(now - days * 86400))
        customer = (  # a JSON document per event, 50,000 customers; %% is SQL's modulo, escaped
            "json_build_object('data', json_build_object('object', "
            "json_build_object('customer', 'cus_' || (g %% 50000))))"
        )
        conn.execute(
            "INSERT INTO hookgate_events (id, received_at, source, delivery_id, event_type, status, "
            "headers, body, body_json, consumers) "
            "SELECT 'evt_' || lpad(to_hex(g), 28, '0'), to_timestamp(%s - (g::float8 / %s) * 6.9 * 86400), "
            "CASE g %% 3 WHEN 0 THEN 'stripe' WHEN 1 THEN 'github' ELSE 'shopify' END, "
            "'d-' || g, 'invoice.paid', CASE WHEN g %% 10 = 0 THEN 'dead' ELSE 'processed' END, "
            '\'[["content-type","application/json"]]\'::jsonb, '
            f"convert_to({customer}::text, 'UTF8'), {customer}::jsonb, '{{}}'::jsonb "
            "FROM generate_series(1, %s) g",
            (now, stored, stored),
        )
        conn.execute(
            "INSERT INTO hookgate_event_counts (day, source, status, events) "
            "SELECT received_at::date, source, status, count(*) FROM hookgate_events GROUP BY 1, 2, 3 "
            "ON CONFLICT (day, source, status) DO UPDATE SET events = excluded.events"
        )
        conn.execute("VACUUM ANALYZE")


def reads(redis_url: str, record_url: str, stored: int, rounds: int) -> dict[str, tuple[float, float]]:
    """(c): p50 and p95 (ms) of the reads operators wait for, over ``stored`` events."""
    now = time.time()
    load(record_url, stored, now)
    client = redis.Redis.from_url(redis_url)
    settings = Settings.model_validate({"redis": {"url": redis_url}, "record": {"url": record_url}})
    pool = connect_pool(settings, open_wait=True)
    operations = Context.build(client, settings, record=pool)
    search = event_filter(match='{"data":{"object":{"customer":"cus_123"}}}')

    def overview() -> None:  # what the dashboard's overview reads
        operations.events.activity(["stripe", "github", "shopify"], now=now)
        operations.events.recent_statuses(since=now - 3600)
        operations.events.stored()
        stats.dead_letter_summary(operations)

    found = {
        "events stats": timed(lambda: stats.summary(operations), rounds),
        "first list page": timed(lambda: events.page(operations, event_filter(), limit=50), rounds),
        "containment search": timed(lambda: events.page(operations, search, limit=50), rounds),
        "dashboard overview": timed(overview, rounds),
    }
    pool.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events for (a) and (d)")
    parser.add_argument("--stored", type=int, default=1_000_000, help="events in the record for (c)")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of each read in (c)")
    parser.add_argument("--ratio-rounds", type=int, default=3, help="ratio.py rounds in (b)")
    parser.add_argument("--seconds", type=int, default=8, help="ratio.py seconds per round in (b)")
    args = parser.parse_args()
    postgres = PostgresServer()
    postgres.start()
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        migrate(conn)
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        passed_on = [f"--rounds={args.ratio_rounds}", f"--seconds={args.seconds}"]
        ratios = ingest_ratios(postgres.url, Path(tmp), passed_on)
        server = EmbeddedRedis(Path(tmp) / "redis", persistent=False)
        server.start()
        try:
            found = writer_and_memory(server.url, postgres.url, args.events)
            timings = reads(server.url, postgres.url, args.stored, args.rounds) if args.stored else {}
        finally:
            server.stop()
            postgres.remove()
    if ratios is not None:
        off, on = ratios
        print(f"(b) ingest ratio to the floor: without the record {off.ratio:.3f}, with it {on.ratio:.3f}")
        print(f"    without: {off.line}\n    with:    {on.line}")
    writer = found["writer"]
    print(f"(a) the record's writer, {args.events} events of {len(BODY)} B: {writer:.0f} events/s")
    if ratios is not None:
        print(f"    the gateway's HTTP ingest with the record on: {on.rps:.0f} events/s")
        print(f"    writer / ingest: {writer / on.rps:.2f}")
    print(f"    the ingest store step alone (in process, no HTTP): {found['store_step']:.0f} events/s")
    print("(d) Redis memory per event (used_memory delta / events):")
    print(f"    without the record                  {found['without']:7.0f} B")
    print(f"    with it, before the writer          {found['pending']:7.0f} B")
    print(f"    with it, settled, written, cooled   {found['cooled']:7.0f} B  (what stays: the dedupe key)")
    if timings:
        print(f"(c) reads with {args.stored} events in the record, ms (p50 / p95 of {args.rounds}):")
        for name, (p50, p95) in timings.items():
            print(f"    {name:20} {p50:8.1f} {p95:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
