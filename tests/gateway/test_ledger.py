"""The ledger and each event's processing record, over fakeredis (with Lua)."""

from __future__ import annotations

import uuid

import fakeredis
import pytest
from dramatiq import Message

from gateway.store import keys
from gateway.store.ledger import Ledger


@pytest.fixture
def client():
    client = fakeredis.FakeRedis()
    client.hset(keys.event("evt_1"), mapping={"source": "github", "event_type": "push", "status": "queued"})
    client.expire(keys.event("evt_1"), 3600)
    return client


def deliver(*consumers: str) -> list[tuple[str, Message]]:
    return [
        (name, Message("deliver", "deliver", ("evt_1", name), {}, {"redis_message_id": str(uuid.uuid4())}))
        for name in consumers
    ]


def event_status(client) -> str:
    return client.hget(keys.event("evt_1"), "status").decode()


def test_success_is_recorded_once_and_expires_with_the_event(client):
    ledger = Ledger(client)
    assert ledger.fan_out("evt_1", deliver("a", "b")) == ["a", "b"]
    assert client.llen(keys.dramatiq_queue("deliver")) == 2
    start = ledger.begin("evt_1", "a", 1)
    assert start.outcome == "started" and start.fields["source"] == b"github"
    assert event_status(client) == "processing"
    ledger.succeeded("evt_1", "a", 1, 12.5)
    assert ledger.already_done("evt_1", "a")
    assert 3500 < client.ttl(keys.done("evt_1", "a")) <= 3600
    assert ledger.begin("evt_1", "a", 2).outcome == "succeeded"
    assert ledger.fan_out("evt_1", deliver("a", "b")) == ["b"]
    assert client.llen(keys.dramatiq_queue("deliver")) == 3
    assert event_status(client) == "queued"


def test_the_event_shows_the_worst_consumer_state(client):
    ledger = Ledger(client)
    ledger.fan_out("evt_1", deliver("a", "b"))
    ledger.begin("evt_1", "a", 1)
    ledger.succeeded("evt_1", "a", 1, 1.0)
    ledger.begin("evt_1", "b", 1)
    ledger.failed("evt_1", "b", 1, "ValueError: no", rejected=False, final=False)
    assert event_status(client) == "retrying"
    ledger.failed("evt_1", "b", 2, "ValueError: no", rejected=False, final=True)
    assert event_status(client) == "dead"
    ledger.discarded("evt_1", "b")
    assert event_status(client) == "processed"
    assert ledger.states("evt_1") == {"a": "processed", "b": "discarded"}
    outcomes = [(a["consumer"], a["outcome"]) for a in ledger.attempts("evt_1")]
    assert outcomes == [
        ("a", "started"),
        ("a", "succeeded"),
        ("b", "started"),
        ("b", "failed"),
        ("b", "failed"),
        ("b", "discarded"),
    ]


def test_a_gone_event_records_nothing(client):
    ledger = Ledger(client)
    assert ledger.begin("evt_missing", "a", 1).outcome == "gone"
    ledger.succeeded("evt_missing", "a", 1, 1.0)
    assert not client.exists(keys.done("evt_missing", "a"))
    assert not client.exists(keys.consumer_states("evt_missing"))


def test_a_forced_replay_starts_even_after_success(client):
    ledger = Ledger(client)
    ledger.begin("evt_1", "a", 1)
    ledger.succeeded("evt_1", "a", 1, 1.0)
    assert ledger.begin("evt_1", "a", 1).outcome == "succeeded"
    start = ledger.begin("evt_1", "a", 1, force=True)
    assert start.outcome == "started" and start.fields["source"] == b"github"
    assert ledger.fan_out("evt_1", deliver("a"), force=True) == ["a"]
