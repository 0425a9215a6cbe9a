"""Consumers end to end: real gateway, redis-server, Dramatiq worker and a local HTTP sink."""

from __future__ import annotations

import json
import re
import signal
import time
import uuid

import httpx
import redis

from gateway.store import keys
from gateway.store.dlq import DeadLetterFilter, DeadLetters
from gateway.store.ledger import Ledger
from gateway.worker.actors import declare_actors
from tests.helpers import forward, hooks_recorded, post, status, wait_for, write_config

FAST_RETRIES = """
[retries]
max_retries = 5
min_backoff_ms = 300
max_backoff_ms = 5000
"""


def test_failing_twice_then_ok_gets_three_identical_posts_with_growing_gaps(
    tmp_path, redis_url, sink, start_gateway, start_worker
):
    config = write_config(tmp_path, FAST_RETRIES + forward("flaky", sink.url("/flaky")))
    sink.plan("/flaky", 500, 503)
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    body = b'{"exact":  "bytes",\n "kept": true}'
    event_id = post(gateway.url, body=body)

    wait_for(lambda: len(sink.to("/flaky")) == 3, timeout=20, message="three attempts")
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, event_id) == "processed", message="processed")
    time.sleep(2)
    got = sink.to("/flaky")
    assert len(got) == 3, "a succeeded delivery must never be sent again"
    assert all(r.body == body for r in got)
    assert {r.header("Idempotency-Key") for r in got} == {f"{event_id}:flaky"}
    first_gap, second_gap = got[1].at - got[0].at, got[2].at - got[1].at
    assert 0.25 < first_gap < second_gap

    history = [a for a in Ledger(client).attempts(event_id) if a["consumer"] == "flaky"]
    assert [a["outcome"] for a in history] == [
        "started",
        "failed",
        "started",
        "failed",
        "started",
        "succeeded",
    ]
    assert "500" in history[1]["error"] and "503" in history[3]["error"]


def test_always_500_ends_in_one_dead_letter_after_max_retries(
    tmp_path, redis_url, sink, start_gateway, start_worker
):
    config = write_config(tmp_path, forward("down", sink.url("/down"), max_retries=2, min_backoff_ms=200))
    sink.plan("/down", *[500] * 10)
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    event_id = post(gateway.url)

    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, event_id) == "dead", timeout=20, message="dead")
    ledger = Ledger(client)
    entries, _ = DeadLetters(client, ledger).list(DeadLetterFilter(consumer="down"))
    assert len(entries) == 1
    entry = DeadLetters(client, ledger).get(entries[0].id)
    assert entry is not None
    assert entry.event_id == event_id and entry.attempts == 3 and entry.source == "hooks"
    assert "500" in entry.error and entry.error_type == "ForwardFailed"
    assert [a["outcome"] for a in entry.history].count("failed") == 3
    assert len(sink.to("/down")) == 3
    time.sleep(1)
    assert len(sink.to("/down")) == 3


def test_a_400_is_dead_lettered_after_one_attempt(tmp_path, redis_url, sink, start_gateway, start_worker):
    config = write_config(tmp_path, FAST_RETRIES + forward("picky", sink.url("/picky")))
    sink.plan("/picky", 400)
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    event_id = post(gateway.url)

    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, event_id) == "dead", message="dead")
    [entry] = DeadLetters(client, Ledger(client)).list()[0]
    assert entry.attempts == 1 and entry.error_type == "ForwardRejected"
    time.sleep(1)
    assert len(sink.to("/picky")) == 1


def test_one_failing_consumer_neither_delays_nor_repeats_another(
    tmp_path, redis_url, sink, start_gateway, start_worker
):
    config = write_config(
        tmp_path,
        FAST_RETRIES + forward("good", sink.url("/good")) + forward("bad", sink.url("/bad"), max_retries=3),
    )
    sink.plan("/bad", *[500] * 10)
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    sent = time.time()
    event_id = post(gateway.url)

    wait_for(lambda: sink.to("/good"), message="the good consumer")
    assert sink.to("/good")[0].at - sent < 2
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, event_id) == "dead", timeout=20, message="the bad consumer to die")
    assert len(sink.to("/good")) == 1
    assert hooks_recorded(client, event_id) == 1
    assert Ledger(client).states(event_id) == {
        "good": "processed",
        "bad": "dead",
        "test.hooks-recorder": "processed",
    }


def test_redelivering_a_processed_event_calls_no_consumer_twice(
    tmp_path, redis_url, sink, start_gateway, start_worker
):
    config = write_config(tmp_path, forward("once", sink.url("/once")))
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    event_id = post(gateway.url)
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, event_id) == "processed", message="processed")

    # The same dispatch and deliver messages again, as a broker redelivery would bring them.
    for actor, args in (("dispatch", [event_id]), ("deliver", [event_id, "once"])):
        message_id = str(uuid.uuid4())
        message = {
            "queue_name": actor,
            "actor_name": actor,
            "args": args,
            "kwargs": {},
            "options": {"redis_message_id": message_id},
            "message_id": message_id,
            "message_timestamp": int(time.time() * 1000),
        }
        client.hset(keys.dramatiq_messages(actor), message_id, json.dumps(message))
        client.rpush(keys.dramatiq_queue(actor), message_id)
    wait_for(
        lambda: client.llen(keys.dramatiq_queue("deliver")) == 0, message="the redelivery to be consumed"
    )
    time.sleep(1)
    assert len(sink.to("/once")) == 1
    assert hooks_recorded(client, event_id) == 1
    assert status(client, event_id) == "processed"


WORKER_TUNED = """
[worker]
threads = 2
heartbeat_timeout_ms = 3000
maintenance_chance = 200000
idle_poll_ms = 25
"""


def test_sigkilled_worker_mid_delivery_is_redelivered_and_the_ledger_keeps_effects_single(
    tmp_path, redis_url, sink, start_gateway, start_worker
):
    config = write_config(tmp_path, WORKER_TUNED + forward("held", sink.url("/held")))
    sink.plan("/held", "hold")
    gateway = start_gateway(redis_url, config=config)
    first = start_worker(redis_url, config=config)
    event_id = post(gateway.url)
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: sink.to("/held"), message="the forward to be in flight")
    wait_for(lambda: hooks_recorded(client, event_id) == 1, message="the other consumer to succeed")

    first.stop(signal.SIGKILL)
    killed = time.time()
    start_worker(redis_url, config=config)
    wait_for(lambda: status(client, event_id) == "processed", timeout=30, message="redelivery after the kill")
    assert time.time() - killed < 30
    held = sink.to("/held")
    assert len(held) == 2
    assert held[0].header("Idempotency-Key") == held[1].header("Idempotency-Key") == f"{event_id}:held"
    assert hooks_recorded(client, event_id) == 1, "the consumer that had succeeded must not run again"


def test_a_consumer_running_longer_than_the_heartbeat_timeout_stays_with_its_worker(
    tmp_path, redis_url, start_gateway, start_worker
):
    config = write_config(tmp_path, WORKER_TUNED.replace("threads = 2", "threads = 1"))
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    busy = [
        post(gateway.url, "slowpoke", b"slow-secret", json.dumps({"sleep": 5, "n": i}).encode())
        for i in range(2)
    ]
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: client.llen("test:slow:started") >= 1, message="the first slow run")
    start_worker(redis_url, config=config)  # a second worker whose maintenance would steal a dead one's work
    wait_for(lambda: client.llen("test:slow:finished") == 2, timeout=30, message="both slow runs")
    starts = [item.decode().split()[0] for item in client.lrange("test:slow:started", 0, -1)]
    assert sorted(starts) == sorted(busy), "a busy worker's messages were handed to another worker"


def test_sigterm_lets_the_running_consumer_finish(tmp_path, redis_url, start_gateway, start_worker):
    config = write_config(tmp_path, "")
    gateway = start_gateway(redis_url, config=config)
    worker = start_worker(redis_url, config=config)
    event_id = post(gateway.url, "slowpoke", b"slow-secret", json.dumps({"sleep": 2}).encode())
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: client.llen("test:slow:started") == 1, message="the slow run")
    assert worker.stop(signal.SIGTERM) == 0
    assert [item.decode() for item in client.lrange("test:slow:finished", 0, -1)] == [event_id]
    assert status(client, event_id) == "processed"


def solo_runs(client: redis.Redis, event_id: str) -> list[float]:
    return [float(t) for t in client.lrange(f"test:solo:{event_id}", 0, -1)]


def test_a_single_consumer_runs_inline_then_retries_through_deliver(
    tmp_path, redis_url, start_gateway, start_worker
):
    config = write_config(tmp_path, "")
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    client = redis.Redis.from_url(redis_url)

    ok = post(gateway.url, "solo", b"solo-secret", b'{"fail": 0}')
    flaky = post(gateway.url, "solo", b"solo-secret", b'{"fail": 2}')
    wait_for(lambda: status(client, flaky) == "processed" and status(client, ok) == "processed", timeout=20)
    assert len(solo_runs(client, ok)) == 1
    runs = solo_runs(client, flaky)
    assert len(runs) == 3
    assert 0.15 < runs[1] - runs[0] < runs[2] - runs[1], "backoff grows across the inline handover"
    attempts = [(a["attempt"], a["outcome"]) for a in Ledger(client).attempts(flaky)]
    assert attempts == [
        (1, "started"),
        (1, "failed"),
        (2, "started"),
        (2, "failed"),
        (3, "started"),
        (3, "succeeded"),
    ]


def test_a_single_consumer_that_keeps_failing_or_rejects_is_dead_lettered(
    tmp_path, redis_url, start_gateway, start_worker
):
    config = write_config(tmp_path, "")
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    client = redis.Redis.from_url(redis_url)

    doomed = post(gateway.url, "solo", b"solo-secret", b'{"fail": 99}')
    rejected = post(gateway.url, "solo", b"solo-secret", b'{"reject": true}')
    wait_for(lambda: status(client, doomed) == "dead" and status(client, rejected) == "dead", timeout=30)
    dlq = DeadLetters(client, Ledger(client))
    entries = {e.event_id: e for e in dlq.list(DeadLetterFilter(consumer="test.solo"))[0]}
    assert entries[doomed].attempts == 4 and "planned failure 4" in entries[doomed].error
    assert entries[rejected].attempts == 1 and entries[rejected].error_type == "Reject"
    time.sleep(1)
    assert len(solo_runs(client, doomed)) == 4 and len(solo_runs(client, rejected)) == 1


def test_success_is_recorded_with_the_ack_even_after_redis_forgets_its_scripts(
    tmp_path, redis_url, start_gateway, start_worker
):
    config = write_config(tmp_path, "")
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    client = redis.Redis.from_url(redis_url)
    first = post(gateway.url, "solo", b"solo-secret", b'{"fail": 0}')
    wait_for(lambda: status(client, first) == "processed", message="the first event")
    client.script_flush()
    second = post(gateway.url, "solo", b"solo-secret", b'{"fail": 0}')
    wait_for(lambda: status(client, second) == "processed", message="the event after SCRIPT FLUSH")
    assert client.exists(keys.done(second, "test.solo"))
    assert client.llen(keys.dramatiq_queue("dispatch")) == 0
    assert client.hlen(keys.dramatiq_messages("dispatch")) == 0, "the message was acknowledged"


def test_a_targets_retry_after_sets_the_next_delay(tmp_path, redis_url, sink, start_gateway, start_worker):
    config = write_config(tmp_path, FAST_RETRIES + forward("busy", sink.url("/busy")))
    sink.plan("/busy", (503, {"Retry-After": "2"}))
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    event_id = post(gateway.url)
    wait_for(lambda: len(sink.to("/busy")) == 2, timeout=20, message="the retry")
    got = sink.to("/busy")
    assert 1.9 < got[1].at - got[0].at < 5, "the retry waits for Retry-After, not the 300 ms backoff"
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, event_id) == "processed", message="processed")


def test_a_dead_letter_retried_after_the_target_recovers_is_delivered_with_a_fresh_budget(
    tmp_path, redis_url, sink, start_gateway, start_worker
):
    import consumers
    from gateway.config import load_settings
    from gateway.store.events import EventStore
    from gateway.worker.broker import build_broker

    config = write_config(tmp_path, forward("flaky", sink.url("/later"), max_retries=1, min_backoff_ms=100))
    sink.plan("/later", 500, 500)
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    event_id = post(gateway.url)
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, event_id) == "dead", timeout=20, message="dead")

    # What the CLI and admin API do: the store API, enqueuing through the declared actors.
    settings = load_settings(config, environ={"HOOKGATE_REDIS__URL": redis_url})
    broker = build_broker(settings, client)
    ledger = Ledger(client)
    registry = consumers.Registry()
    actors = declare_actors(broker, EventStore(client, 86400), registry, ledger, broker)
    dlq = DeadLetters(client, ledger, enqueue=lambda e, c: actors.resend(e, c))
    [entry] = dlq.list(DeadLetterFilter(consumer="flaky"))[0]
    assert dlq.retry(entry.id)
    broker.close()

    wait_for(
        lambda: Ledger(client).states(event_id).get("flaky") == "processed", timeout=20, message="retried"
    )
    assert len(sink.to("/later")) == 3
    assert dlq.size() == 0
    assert [a["outcome"] for a in ledger.attempts(event_id) if a["consumer"] == "flaky"][-3:] == [
        "retried",
        "started",
        "succeeded",
    ]


def test_backlog_metrics_show_dead_letters_per_consumer_and_queue_lag(
    tmp_path, redis_url, sink, start_gateway, start_worker
):
    config = write_config(tmp_path, forward("gone", sink.url("/gone"), max_retries=0))
    sink.plan("/gone", 500, 500)
    gateway = start_gateway(redis_url, config=config)
    assert "hookgate_queue_lag_seconds 0.0" in httpx.get(f"{gateway.url}/metrics").text
    queued = post(gateway.url)  # no worker yet: it waits
    time.sleep(1.2)
    lag = float(
        re.search(
            r"^hookgate_queue_lag_seconds ([\d.]+)", httpx.get(f"{gateway.url}/metrics").text, re.M
        ).group(1)
    )
    assert lag >= 1.0
    start_worker(redis_url, config=config)
    second = post(gateway.url)
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, queued) == status(client, second) == "dead", timeout=20, message="dead")
    text = httpx.get(f"{gateway.url}/metrics").text
    assert 'hookgate_dlq_entries{consumer="gone"} 2.0' in text
    assert "hookgate_queue_lag_seconds 0.0" in text
