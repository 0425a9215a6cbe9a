"""The dead-letter queue's store-level API over fakeredis: list, filter, page, retry, discard, purge."""

from __future__ import annotations

import fakeredis
import pytest

from gateway.store import keys
from gateway.store.dlq import DeadLetterFilter, DeadLetters, entry_id
from gateway.store.ledger import Ledger


@pytest.fixture
def client():
    return fakeredis.FakeRedis()


@pytest.fixture
def sent():
    return []


class Ticks:
    """A clock a second on at each reading."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def clock():
    return Ticks()


@pytest.fixture
def dlq(client, sent, clock):
    ledger = Ledger(client, clock=clock)
    return DeadLetters(client, ledger, enqueue=lambda event_id, consumer: sent.append((event_id, consumer)))


def dead(client, dlq, event_id, consumer, source="stripe", error="HTTP 500", event_type="invoice.paid"):
    client.hset(keys.event(event_id), mapping={"source": source, "event_type": event_type, "status": "dead"})
    client.expire(keys.event(event_id), 3600)
    return dlq.add(
        event_id=event_id,
        consumer=consumer,
        error_type="ForwardFailed",
        error=error,
        traceback="Traceback ...",
        attempts=3,
    )


def test_entries_are_listed_newest_first_with_filters_and_pages(client, dlq):
    for i in range(5):
        dead(client, dlq, f"evt_{i}", "billing" if i % 2 else "crm", error=f"HTTP 50{i}")
    items, cursor = dlq.list(limit=2)
    assert [e.event_id for e in items] == ["evt_4", "evt_3"]
    items, cursor = dlq.list(limit=2, after=cursor)
    assert [e.event_id for e in items] == ["evt_2", "evt_1"]
    items, cursor = dlq.list(limit=2, after=cursor)
    assert [e.event_id for e in items] == ["evt_0"] and cursor is None
    assert [e.event_id for e in dlq.list(DeadLetterFilter(consumer="billing"))[0]] == ["evt_3", "evt_1"]
    assert [e.event_id for e in dlq.list(DeadLetterFilter(q="http 502"))[0]] == ["evt_2"]
    assert dlq.list(DeadLetterFilter(source="github"))[0] == []
    assert dlq.list(DeadLetterFilter(event_type="invoice.*"))[0] != []


def test_a_second_death_of_the_same_pair_updates_one_entry(client, dlq):
    first = dead(client, dlq, "evt_1", "crm")
    again = dead(client, dlq, "evt_1", "crm", error="HTTP 502")
    assert first == again == entry_id("evt_1", "crm")
    assert dlq.size() == 1
    assert dlq.get(first).error == "HTTP 502"


def test_retry_enqueues_and_requeues_the_consumer(client, dlq, sent):
    identifier = dead(client, dlq, "evt_1", "crm")
    assert dlq.retry(identifier)
    assert sent == [("evt_1", "crm")]
    assert dlq.get(identifier) is None and dlq.size() == 0
    assert client.hget(keys.event("evt_1"), "status") == b"queued"
    assert not dlq.retry(identifier)


def test_discard_settles_the_consumer(client, dlq):
    identifier = dead(client, dlq, "evt_1", "crm")
    assert dlq.discard(identifier)
    assert dlq.size() == 0
    assert client.hget(keys.event("evt_1"), "status") == b"processed"


def test_purge_discards_only_matching_and_old_enough(client, dlq, clock):
    dead(client, dlq, "evt_old", "crm")
    cutoff = clock.now + 0.5
    dead(client, dlq, "evt_new", "crm")
    dead(client, dlq, "evt_other", "billing")
    assert dlq.purge(DeadLetterFilter(consumer="crm"), older_than=cutoff) == 1
    assert {e.event_id for e in dlq.list()[0]} == {"evt_new", "evt_other"}


def test_an_entry_whose_event_expired_disappears_from_listings(client, dlq):
    identifier = dead(client, dlq, "evt_1", "crm")
    client.delete(keys.dlq_entry(identifier))
    assert dlq.list()[0] == []
    assert dlq.size() == 0
