"""Destinations as operators work them: the use cases over fakeredis, then ``hookgate destinations``
and the scrape-time gauges over a real redis-server (no worker: the lanes are announced as one would)."""

from __future__ import annotations

import json
import re

import fakeredis
import pytest
import redis
from litestar.testing import TestClient

from gateway.config import Settings
from gateway.operate import Context, dead_letters, destinations
from gateway.processes.app import create_app
from gateway.store import keys
from gateway.store.dlq import DeadLetterFilter
from gateway.store.lanes import LaneConfig
from gateway.store.ledger import Ledger
from tests.helpers import cli, deliver, destination, settings_for, write_config

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def context():
    ctx = Context.build(fakeredis.FakeRedis(), Settings.model_validate({}))
    ctx.lanes.announce(
        {
            "billing": LaneConfig(max_in_flight=4, interval_ms=20, rate="50/s"),
            "crm": LaneConfig(max_in_flight=2, breaker=False),
        }
    )
    return ctx


def hold(ctx: Context, consumer: str, *event_ids: str) -> None:
    """Deliveries of ``event_ids`` held in the consumer's lane (as a worker holds them)."""
    operations = []
    for event_id in event_ids:
        ctx.client.hset(keys.event(event_id), mapping={"source": "github", "event_type": "push"})
        message = json.dumps({"args": [event_id, consumer], "options": {"retries": 3}})
        operations.append(Ledger.hold_op(event_id, consumer, f"msg-{event_id}", message))
    ctx.ledger.apply(operations)


def test_list_and_show_every_announced_destination(context):
    listed = destinations.list_all(context)
    assert [d["consumer"] for d in listed] == ["billing", "crm"]
    billing = destinations.show(context, "billing")
    assert billing == listed[0]
    assert billing["state"] == "closed" and billing["held"] == 0 and billing["in_flight"] == 0
    assert billing["max_in_flight"] == 4 and billing["rate_limit"] == "50/s" and billing["breaker"]
    assert not destinations.show(context, "crm")["breaker"]
    assert destinations.show(context, "nobody") is None


def test_pause_holds_until_resume_and_times_are_rfc3339(context):
    paused = destinations.pause(context, "billing")
    assert paused["state"] == "paused" and paused["breaker_state"] == "closed"
    assert RFC3339.fullmatch(paused["paused_at"])
    assert destinations.show(context, "crm")["state"] == "closed", "one destination only"
    resumed = destinations.resume(context, "billing")
    assert resumed["state"] == "closed" and resumed["paused_at"] is None
    assert destinations.pause(context, "nobody") is None
    assert destinations.resume(context, "nobody") is None


def test_dead_letter_held_moves_what_the_destination_holds_to_the_dlq(context):
    destinations.pause(context, "billing")
    hold(context, "billing", "evt_1", "evt_2")
    assert destinations.show(context, "billing")["held"] == 2
    assert destinations.dead_letter_held(context, "billing") == 2
    assert destinations.show(context, "billing")["held"] == 0
    assert destinations.show(context, "billing")["state"] == "paused", "moving them does not resume"
    letters, _ = dead_letters.page(context, DeadLetterFilter(consumer="billing"))
    assert sorted(e["event_id"] for e in letters) == ["evt_1", "evt_2"]
    assert {e["attempts"] for e in letters} == {3} and "billing held it" in letters[0]["error"]
    assert destinations.dead_letter_held(context, "billing") == 0
    assert destinations.dead_letter_held(context, "nobody") is None


# `hookgate destinations`


def test_cli_lists_shows_pauses_resumes_and_dead_letters(tmp_path, redis_url):
    config = str(write_config(tmp_path, ""))
    store = redis.Redis.from_url(redis_url)
    store.hset(keys.event("evt_1"), mapping={"source": "hooks", "event_type": "push", "status": "queued"})
    store.expire(keys.event("evt_1"), 3600)
    destination(redis_url, "billing", held=("evt_1",))
    destination(redis_url, "crm")
    store.hset(keys.lane("crm"), "last_error", "POST answered 502: [/] [bold]<b>")

    def run(*args: str):
        wide = {"COLUMNS": "200"}  # rich wraps to the terminal's width
        return cli("destinations", *args, "--config", config, redis_url=redis_url, env=wide)

    listed = run("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(d["consumer"], d["held"]) for d in json.loads(listed.stdout)] == [("billing", 1), ("crm", 0)]
    table = run("list")
    assert table.returncode == 0 and "billing" in table.stdout and "0/4" in table.stdout
    assert "50/s" in table.stdout and "2 destination(s)" in table.stdout
    assert "502: [/] [bold]<b>" in table.stdout, "an error is text, never rich markup"

    shown = run("show", "billing")
    assert "state: paused" in shown.stdout and "held: 1" in shown.stdout and "in_flight: 0/4" in shown.stdout
    assert RFC3339.search(shown.stdout), "times as RFC 3339"
    unconfirmed = run("dead-letter", "billing")
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    moved = run("dead-letter", "billing", "--yes")
    assert moved.returncode == 0 and "moved 1 held delivery of billing" in moved.stdout
    assert store.zcard(keys.DLQ_INDEX) == 1
    assert json.loads(run("dead-letter", "billing", "--yes", "--json").stdout) == {"moved": 0}

    resumed = run("resume", "billing")
    assert resumed.returncode == 0 and "state: closed" in resumed.stdout
    paused = run("pause", "crm", "--json")
    assert paused.returncode == 0 and json.loads(paused.stdout)["state"] == "paused"

    for command in ("show", "pause", "resume", "dead-letter"):
        unknown = run(command, "nobody", "--yes") if command == "dead-letter" else run(command, "nobody")
        assert unknown.returncode == 1 and "no destination named 'nobody'" in unknown.stderr, command


# /metrics


def test_metrics_show_each_destinations_state_held_and_in_flight(redis_url):
    settings = settings_for(redis_url)
    public = settings.model_copy(update={"admin": settings.admin.model_copy(update={"public_metrics": True})})
    with TestClient(create_app(public)) as client:
        destination(redis_url, "billing", held=(deliver(client, 1),))
        destination(redis_url, "crm")
        text = client.get("/metrics").text
    assert 'hookgate_destination_state{consumer="billing",state="paused"} 1.0' in text
    assert 'hookgate_destination_state{consumer="billing",state="closed"} 0.0' in text
    assert 'hookgate_destination_state{consumer="crm",state="closed"} 1.0' in text
    assert 'hookgate_destination_state{consumer="crm",state="half-open"} 0.0' in text
    assert 'hookgate_destination_held{consumer="billing"} 1.0' in text
    assert 'hookgate_destination_held{consumer="crm"} 0.0' in text
    assert 'hookgate_destination_in_flight{consumer="billing"} 0.0' in text
