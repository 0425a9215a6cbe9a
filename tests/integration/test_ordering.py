"""Ordered delivery per key end to end: real gateway and worker processes (2 processes x 8 threads by
default), an ordered forward to a target that fails 10 % of attempts at random and takes 5-50 ms, events
over many keys sent concurrently. For every key the target gets the events one at a time in the order
the gateway stored them, and every accepted event arrives.

``ORDERING_EVENTS``, ``ORDERING_KEYS``, ``ORDERING_RATE``, ``ORDERING_PROCESSES``,
``ORDERING_THREADS`` and ``ORDERING_FAILURE_RATE`` scale it; the issue's acceptance run is
``ORDERING_EVENTS=10000 ORDERING_KEYS=500 ORDERING_RATE=200 ORDERING_PROCESSES=4``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from gateway.store import keys
from gateway.store.dlq import entry_id
from tests.helpers import Gateway, cli, forward, github_headers, wait_for, write_config
from tests.integration.ordering import FlakyTarget, check_order, stored_order

EVENTS = int(os.environ.get("ORDERING_EVENTS", "400"))
KEYS = int(os.environ.get("ORDERING_KEYS", "40"))
RATE = float(os.environ.get("ORDERING_RATE", "200"))
PROCESSES = int(os.environ.get("ORDERING_PROCESSES", "2"))
THREADS = int(os.environ.get("ORDERING_THREADS", "8"))
FAILURE_RATE = float(os.environ.get("ORDERING_FAILURE_RATE", "0.1"))


def send(gateway: Gateway, count: int, keys: int, rate: float) -> dict[str, str]:
    """Post ``count`` signed deliveries over ``keys`` customers at ``rate`` per second, 16 at a time (so
    deliveries of one key race each other to the gateway); each event id with its key."""
    accepted: dict[str, str] = {}
    lock = threading.Lock()
    local = threading.local()
    clients: list[httpx.Client] = []

    def one(n: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=10)  # kept alive: a sender's connection pool
            with lock:
                clients.append(local.client)
        customer = f"cus_{n % keys}"
        body = json.dumps({"customer": customer, "n": n}).encode()
        answer = local.client.post(f"{gateway.url}/webhooks/hooks", content=body, headers=signed(body))
        assert answer.status_code == 202, answer.text
        with lock:
            accepted[answer.json()["event_id"]] = customer

    start, sent = time.monotonic(), []
    with ThreadPoolExecutor(16) as pool:
        for n in range(count):
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            sent.append(pool.submit(one, n))
    for client in clients:
        client.close()
    for each in sent:
        each.result()  # a refused delivery fails the test here
    assert len(accepted) == count
    return accepted


def signed(body: bytes) -> dict[str, str]:
    return github_headers(body, secret=b"hooks-secret")


def test_every_key_arrives_in_stored_order_one_at_a_time_and_nothing_is_lost(
    tmp_path, redis_url, start_gateway, start_worker
) -> None:
    target = FlakyTarget(failure_rate=FAILURE_RATE, delay=(0.005, 0.05))
    try:
        config = write_config(
            tmp_path,
            forward(
                "ordered",
                target.url,
                ordering="body:customer",
                max_in_flight=THREADS * PROCESSES,
                max_retries=30,
                min_backoff_ms=50,
                max_backoff_ms=500,
                breaker={"failures": 5, "cooldown": "1s", "max_cooldown": "2s"},
            )
            + f"\n[worker]\nprocesses = {PROCESSES}\nthreads = {THREADS}\nidle_poll_ms = 10\n"
            + "delay_poll_ms = 20\n",
        )
        gateway = start_gateway(redis_url, config=config)
        worker = start_worker(redis_url, config=config)
        wait_for(lambda: worker.output().count("worker started") >= PROCESSES, 30, "the worker processes")
        started = time.monotonic()
        accepted = send(gateway, EVENTS, KEYS, RATE)
        wait_for(lambda: set(accepted) <= target.delivered(), 30 + EVENTS / 50, "every accepted event")
        took = time.monotonic() - started

        with redis.Redis.from_url(redis_url) as client:
            order = stored_order(client, set(accepted))
        assert set(order) == set(accepted), "every event has its place in the order"
        attempts = target.attempts()
        check = check_order(attempts, order)
        failed = sum(1 for a in attempts if a.status != 200)
        print(  # shown with -s
            f"\n{EVENTS} events over {KEYS} keys, {PROCESSES}x{THREADS} threads: delivered in {took:.1f} s,"
            f" {len(attempts)} attempts ({failed} failed), {len(check.out_of_order)} keys out of order,"
            f" {len(check.overlaps)} overlaps"
        )
        assert check.keys == KEYS
        assert not check.out_of_order, f"keys delivered out of stored order: {check.out_of_order[:5]}"
        assert not check.overlaps, check.overlaps[:5]
        assert failed > 0 or not FAILURE_RATE, "the target failed some attempts: a delivery held its key"
    finally:
        target.close()


@pytest.mark.parametrize("on_dead", ["hold", "skip"])
def test_a_poisoned_event_blocks_its_key_until_its_dead_letter_is_retried_or_not(
    tmp_path, redis_url, start_gateway, start_worker, on_dead: str
) -> None:
    """The destination refuses one event (a 4xx: straight to the dead-letter queue). With ``hold`` its
    customer's later events wait (others go on) until the dead letter is retried, then all arrive in
    order; with ``skip`` they go on at once."""
    target = FlakyTarget(failure_rate=0.0, delay=(0.0, 0.0))
    target.refusing.add(0)
    try:
        config = write_config(
            tmp_path, forward("ordered", target.url, ordering="body:customer", on_dead=on_dead)
        )
        gateway = start_gateway(redis_url, config=config)
        start_worker(redis_url, config=config)
        events = {}
        with httpx.Client(timeout=10) as http:
            for n, customer in enumerate(["cus_a", "cus_a", "cus_b", "cus_a", "cus_b"]):
                body = json.dumps({"customer": customer, "n": n}).encode()
                answer = http.post(f"{gateway.url}/webhooks/hooks", content=body, headers=signed(body))
                events[n] = answer.json()["event_id"]
        poisoned, others = events[0], {events[2], events[4]}
        later_of_a = {events[1], events[3]}
        client = redis.Redis.from_url(redis_url)
        wait_for(lambda: others <= target.delivered() and client.zcard(keys.DLQ_INDEX) == 1, 20, "the rest")
        shown = cli("destinations", "show", "ordered", "--config", str(config), redis_url=redis_url)
        if on_dead == "skip":
            wait_for(lambda: later_of_a <= target.delivered(), 10, "the poisoned key's later events")
            assert "blocked key" not in shown.stdout
            return
        time.sleep(1)
        assert not later_of_a & target.delivered(), "the poisoned key holds its later events"
        assert f"blocked key 'cus_a': held by {poisoned} (dead)" in shown.stdout, shown.stdout

        target.refusing.clear()  # fixed: the operator retries the dead letter
        retried = cli(
            "dlq", "retry", entry_id(poisoned, "ordered"), "--config", str(config), redis_url=redis_url
        )
        assert retried.returncode == 0, retried.stderr
        wait_for(lambda: later_of_a <= target.delivered(), 20, "the held events")
        with client:
            check = check_order(target.attempts(), stored_order(client, set(events.values())))
        assert not check.out_of_order and not check.overlaps, check
        firsts = [a.event_id for a in target.attempts() if a.status == 200 and a.key == "cus_a"]
        assert firsts == [poisoned, events[1], events[3]]
    finally:
        target.close()
