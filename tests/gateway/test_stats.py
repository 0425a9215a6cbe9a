"""``events stats`` counts from the status indexes, in a constant number of reads, and stays equal to
what the events themselves say through every transition: fan-out, attempts, retries, dead letters,
their retry and discard, replays, and expiry. Over a real redis-server (expiry is Redis's own)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
import redis

from gateway.config import RetentionSettings, Settings
from gateway.operate import Context, replay
from gateway.store import keys
from gateway.store.dlq import DeadLetters, dead_letter_op
from gateway.store.events import STATUSES, EventStore
from gateway.store.ingest import Incoming, Ingestor
from gateway.store.ledger import Ledger


def retention(days: float) -> RetentionSettings:
    """``days`` of retention, with dedupe windows no longer (a second, for the shortest)."""
    window = min(1.0, days * 24 / 2)
    return RetentionSettings(events_days=days, dedupe_window_hours=window, body_hash_window_hours=window)


def ingest(redis_url: str, count: int, *, source: str = "github", days: float = 7) -> list[str]:
    async def run() -> list[str]:
        client = redis.asyncio.Redis.from_url(redis_url)
        ingestor = Ingestor(client, retention(days), 5)
        ids = []
        for n in range(count):
            incoming = Incoming(source, b"{}", [], f"d-{source}-{n}-{time.time()}", "push")
            ids.append((await ingestor.put_if_new(incoming)).event_id)
        await client.aclose()
        return ids

    return asyncio.run(run())


def truth(client: redis.Redis) -> tuple[Counter[str], Counter[str]]:
    """Counts by status and source from the stored events themselves (what the old stats did)."""
    by_status: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for key in client.scan_iter(match=keys.event("*")):
        status, source = client.hmget(key, ["status", "source"])
        by_status[status.decode()] += 1
        by_source[source.decode()] += 1
    return by_status, by_source


class Replays:
    """What ``operate.replay`` enqueues through, kept instead of sent."""

    def __init__(self, sent: list[tuple[object, ...]]) -> None:
        self.sent = sent

    def replay(self, *args: object, ignore_filters: bool = False) -> None:
        self.sent.append(args)


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def assert_counts_true(events: EventStore, client: redis.Redis) -> None:
    by_status, by_source = events.counts()
    assert (Counter(by_status), Counter(by_source)) == truth(client)


def deliver(name: str, event_id: str):
    """A deliver message for ``fan_out`` (its id is all the ledger needs)."""
    from dramatiq import Message

    return name, Message(
        queue_name=keys.DELIVER_QUEUE,
        actor_name=keys.DELIVER_ACTOR,
        args=(event_id, name),
        kwargs={},
        options={"redis_message_id": f"m-{event_id}-{name}"},
    )


def test_counts_follow_every_transition(redis_url, client):
    events = EventStore(client, 7 * 86400)
    ledger = Ledger(client)
    sent: list[tuple[str, str]] = []
    dlq = DeadLetters(client, ledger, enqueue=lambda e, c: sent.append((e, c)))
    ids = ingest(redis_url, 6) + ingest(redis_url, 2, source="stripe")
    assert events.counts() == ({"queued": 8}, {"github": 6, "stripe": 2})
    a, b, c, d, e, f, g, _ = ids

    for event_id in (a, b, c, d):
        ledger.fan_out(event_id, [deliver("crm", event_id), deliver("billing", event_id)])
    ledger.begin(a, "crm", 1)  # processing
    ledger.begin(b, "crm", 1)
    ledger.failed(b, "crm", 1, "ValueError: no", rejected=False, final=False)  # retrying
    ledger.begin(c, "crm", 1)
    ledger.apply([dead_letter_op(c, "crm", "ValueError", "ValueError: no", "", 3)])  # dead
    ledger.begin(d, "crm", 1)
    ledger.apply([dead_letter_op(d, "crm", "ValueError", "ValueError: no", "", 3)])
    for event_id in (e, f):
        ledger.begin(event_id, "solo", 1)
        ledger.succeeded(event_id, "solo", 1, 1.0)  # processed
    ledger.apply([Ledger.status_op(g, "unrouted")])
    assert_counts_true(events, client)
    assert events.counts()[0] == {
        "queued": 1,
        "processing": 1,
        "retrying": 1,
        "dead": 2,
        "processed": 2,
        "unrouted": 1,
    }

    # A retry that succeeds, a dead letter retried, another discarded.
    ledger.begin(b, "crm", 2)
    ledger.succeeded(b, "crm", 2, 1.0)
    dlq.retry(next(i.id for i in dlq.list()[0] if i.event_id == c))
    assert sent == [(c, "crm")]
    dlq.discard(next(i.id for i in dlq.list()[0] if i.event_id == d))
    assert_counts_true(events, client)
    assert "dead" not in events.counts()[0]

    # A replay marks the event queued again; counts move, never double.
    replayed = []
    operations = Context.build(client, Settings(), actors=Replays(replayed))  # type: ignore[arg-type]
    assert list(replay.replay(operations, [e, f], force=True)) == [e, f] and len(replayed) == 2
    assert_counts_true(events, client)
    by_status, by_source = events.counts()
    assert sum(by_status.values()) == sum(by_source.values()) == 8 and by_status["queued"] == 6


def test_expired_events_leave_the_counts(redis_url, client):
    days = 2 / 86400  # two seconds
    events = EventStore(client, retention(days).events_seconds)
    ledger = Ledger(client)
    first = ingest(redis_url, 3, days=days)
    ledger.apply([Ledger.status_op(first[0], "unrouted")])
    assert events.counts() == ({"queued": 2, "unrouted": 1}, {"github": 3})
    time.sleep(2.2)
    assert not any(client.exists(keys.event(i)) for i in first)
    assert events.counts() == ({}, {})
    assert events.stored() == 0 and events.oldest_received() is None
    later = ingest(redis_url, 2, days=days)
    ledger.apply([Ledger.status_op(later[0], "unrouted")])
    assert events.counts() == ({"queued": 1, "unrouted": 1}, {"github": 2})


def test_a_status_change_never_resurrects_an_expired_event(redis_url, client):
    ledger = Ledger(client)
    dlq = DeadLetters(client, ledger, enqueue=lambda e, c: None)
    [event_id] = ingest(redis_url, 1)
    ledger.fan_out(event_id, [deliver("crm", event_id)])
    ledger.apply([dead_letter_op(event_id, "crm", "ValueError", "ValueError: no", "", 3)])
    [entry] = dlq.list()[0]
    client.delete(keys.event(event_id))  # expired
    ledger.apply([Ledger.status_op(event_id, "queued")])
    ledger.requeued(event_id, "crm", "retried")
    ledger.begin(event_id, "crm", 1)
    ledger.succeeded(event_id, "crm", 1, 1.0)
    dlq.retry(entry.id)
    assert not client.exists(keys.event(event_id))
    for key in client.scan_iter(match=f"*{event_id}*"):  # nothing of it is left without a TTL
        assert client.ttl(key) > 0, key


def test_replay_never_resurrects_an_event_that_expires_while_it_runs(redis_url, client, monkeypatch):
    """operate.replay reads where the event came from, then marks it queued: if the event expires
    between the two, nothing is written (it used to come back as a hash without a TTL)."""
    [event_id] = ingest(redis_url, 1)
    operations = Context.build(client, Settings(), actors=Replays([]))  # type: ignore[arg-type]
    routing = operations.events.routing

    def routing_then_expiry(event_id):
        found = routing(event_id)
        client.delete(keys.event(event_id))
        return found

    monkeypatch.setattr(operations.events, "routing", routing_then_expiry)
    list(replay.replay(operations, [event_id]))
    assert not client.exists(keys.event(event_id))
    assert client.ttl(keys.event(event_id)) == -2


def test_stats_read_a_constant_number_of_keys(redis_url, client, monkeypatch):
    """However many events are stored, ``counts`` sends one pipeline: a command per status and source."""
    events = EventStore(client, 86400)
    sent: list[int] = []
    execute = redis.client.Pipeline.execute

    def counting(pipe, *args, **kwargs):
        sent.append(len(pipe.command_stack))
        return execute(pipe, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counting)
    for batch in (50, 500):
        ingest(redis_url, batch)
        events.counts()
    assert sent == [len(STATUSES) + 1, len(STATUSES) + 1]  # a ZCOUNT per status, one per source
