"""The one bulk replay (``operate.replay.BulkReplay``) that the CLI runs in its process and the admin
API's job runs in a worker: ``consumer`` selects the events routed to that consumer and sends them to
it alone. Over a real redis-server."""

from __future__ import annotations

import pytest
import redis

from gateway.config import Settings
from gateway.operate import BadRequest, Context, replay
from gateway.store import keys
from gateway.store.events import EventFilter
from tests.gateway.test_stats import deliver, ingest


class Sent:
    """What a replay enqueues, kept instead of sent."""

    def __init__(self) -> None:
        self.to: list[tuple[str, str, int]] = []
        self.routed: list[str] = []

    def send_to(self, event_id: str, consumer: str, replay: int = 0) -> None:
        self.to.append((event_id, consumer, replay))

    def replay(
        self,
        event_id: str,
        source: str,
        event_type: str | None,
        replay: int = 0,
        *,
        ignore_filters: bool = False,
    ) -> None:
        self.routed.append(event_id)

    def resend(self, event_id: str, consumer: str) -> None:
        raise AssertionError("a replay never resends a dead letter")


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_consumer_selects_the_events_routed_to_it_and_targets_it_alone(redis_url, client):
    seen, unseen = ingest(redis_url, 2)
    context = Context.build(client, Settings(), actors=Sent())
    context.ledger.fan_out(seen, [deliver("billing", seen), deliver("crm", seen)])
    context.ledger.fan_out(unseen, [deliver("crm", unseen)])
    client.sadd(keys.KNOWN_CONSUMERS, "billing", "crm")

    bulk = replay.BulkReplay(context, EventFilter(source="github"), consumer="billing")
    assert [summary.event_id for summary, _ in bulk.matching()] == [seen]
    assert [bulk.send(summary.event_id) for summary, _ in bulk.matching()] == [True]
    assert context.actors.to == [(seen, "billing", 0)] and context.actors.routed == []  # type: ignore[union-attr]

    everyone = replay.BulkReplay(context, EventFilter(source="github"))
    assert {summary.event_id for summary, _ in everyone.matching()} == {seen, unseen}


def test_a_dry_run_sends_nothing_and_an_unknown_consumer_is_refused(redis_url, client):
    [event_id] = ingest(redis_url, 1)
    context = Context.build(client, Settings(), actors=Sent())
    dry = replay.BulkReplay(context, EventFilter(), dry_run=True)
    assert [dry.send(summary.event_id) for summary, _ in dry.matching()] == [False]
    assert context.actors.routed == []  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match="no consumer named 'nobody'"):
        replay.BulkReplay(context, EventFilter(), consumer="nobody")
    assert list(replay.replay(context, [event_id])) == [event_id]
