"""Issues and alert rules over fakeredis (with Lua): one notification when an issue opens, reminders at
most every interval, one when it resolves; conditions open and clear their own issues; a channel that
fails is retried without holding back the others; only the lease holder writes."""

from __future__ import annotations

import json
import time

import fakeredis
import pytest
import redis

from gateway.alerts.channels import ChannelFailed, Notification, email_url
from gateway.alerts.counters import minute
from gateway.alerts.evaluator import Evaluator, LeaseLost
from gateway.alerts.issues import Issues
from gateway.config import Settings
from gateway.store import keys
from gateway.store.dlq import dead_letter_op
from gateway.store.lanes import LaneConfig, Lanes
from gateway.store.lease import Lease
from gateway.store.ledger import Ledger


class Recorder:
    def __init__(self, name: str, fail: int = 0) -> None:
        self.name = name
        self.fail = fail
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        if self.fail:
            self.fail -= 1
            raise ChannelFailed("down")
        self.sent.append(notification)


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


RULES = [
    {"name": "billing-dead", "when": "dead_letters", "consumer": "billing", "channels": ["ops", "mail"]},
    {"name": "sigs", "when": "signature_failures", "threshold": 3, "window": "5m", "channels": ["ops"]},
    {"name": "lag", "when": "queue_lag", "threshold": 60, "window": "1m", "channels": ["ops"]},
    {"name": "workers", "when": "workers_down", "window": "1m", "channels": ["ops"], "remind_every": None},
    {"name": "down", "when": "destination_down", "window": "5m", "channels": ["ops"]},
]


@pytest.fixture
def client():
    client = fakeredis.FakeRedis()
    client.hset(
        keys.event("evt_1"), mapping={"source": "stripe", "event_type": "invoice.paid", "status": "queued"}
    )
    client.expire(keys.event("evt_1"), 3600)
    client.zadd(keys.DRAMATIQ_HEARTBEATS, {"w1": time.time() * 1000})
    return client


@pytest.fixture
def world(client):
    settings = Settings.model_validate(
        {
            "sources": {"stripe": {"provider": "stripe", "secret": "whsec_x"}},
            "alerts": RULES,
            "channels": {
                "ops": {"kind": "slack", "url": "http://127.0.0.1:9/slack"},
                "mail": {"kind": "email", "smtp_url": "smtp://127.0.0.1:25", "from": "h@x", "to": ["o@x"]},
            },
            "admin": {"public_url": "https://hookgate.example.com"},
        }
    )
    channels = {"ops": Recorder("ops"), "mail": Recorder("mail")}
    clock = Clock()
    evaluator = Evaluator(client, settings, channels, Lease(client, "alerts", 30, holder="me"), clock=clock)
    yield evaluator, channels, clock
    evaluator.outbox.close()


def tick(evaluator: Evaluator) -> None:
    assert evaluator.lease.acquire()
    evaluator.tick()
    evaluator.outbox.wait_idle()


def kinds(channel: Recorder, rule: str = "billing-dead") -> list[str]:
    return [n.kind for n in channel.sent if n.rule == rule]


def die(client, consumer: str = "billing", error: str = "ForwardFailed: POST http://b/ answered 500") -> str:
    operation = dead_letter_op("evt_1", consumer, "ForwardFailed", error, "Traceback ...", 3)
    Ledger(client).apply([operation])
    return str(operation["issue"]["id"])


def test_a_failing_consumer_opens_one_issue_and_one_notification_per_channel(client, world):
    evaluator, channels, _ = world
    issue_id = die(client)
    die(client, error="ForwardFailed: POST http://b/ answered 503")  # the same issue: numbers are masked
    [issue] = Issues(client).open_issues()
    assert issue.id == issue_id and issue.count == 2 and issue.dead_letters == 2 and issue.source == "stripe"
    tick(evaluator)
    tick(evaluator)
    assert kinds(channels["ops"]) == ["opened"] and kinds(channels["mail"]) == ["opened"]
    sent = channels["ops"].sent[0]
    assert sent.link == f"https://hookgate.example.com/dashboard/issues/{issue_id}"
    assert "billing" in sent.text and "answered 503" in sent.text and "dead letters: 2" in sent.text


def test_reminders_respect_the_interval_and_stop_when_acknowledged(client, world):
    evaluator, channels, clock = world
    issue_id = die(client)
    tick(evaluator)
    clock.offset = 1800
    tick(evaluator)
    clock.offset = 3700
    tick(evaluator)
    tick(evaluator)
    assert kinds(channels["ops"]) == ["opened", "reminder"]
    Issues(client).set_status(issue_id, "acknowledged")
    clock.offset = 3700 * 3
    tick(evaluator)
    assert kinds(channels["ops"]) == ["opened", "reminder"]


def test_the_issue_resolves_once_its_consumer_succeeds_and_it_is_quiet_then_a_failure_reopens_it(
    client, world
):
    evaluator, channels, clock = world
    issue_id = die(client)
    tick(evaluator)
    Ledger(client).apply([Ledger.success_op("evt_1", "billing", 4, 1.0)])
    clock.offset = 60
    tick(evaluator)
    assert Issues(client).get(issue_id).status == "open", "not quiet long enough (10m)"
    clock.offset = 700
    tick(evaluator)
    assert Issues(client).get(issue_id).status == "resolved"
    assert kinds(channels["ops"]) == ["opened", "resolved"]
    tick(evaluator)
    assert kinds(channels["ops"]) == ["opened", "resolved"]
    clock.offset = 0  # the failures are counted at the real time
    die(client)
    assert Issues(client).get(issue_id).status == "open"
    tick(evaluator)
    assert kinds(channels["ops"]) == ["opened", "resolved", "opened"]


def test_an_ignored_issue_never_notifies(client, world):
    evaluator, channels, _ = world
    Issues(client).set_status(die(client), "ignored")
    tick(evaluator)
    die(client)
    tick(evaluator)
    assert channels["ops"].sent == []


def test_a_channel_that_is_down_is_retried_and_holds_back_no_other(client, world):
    evaluator, channels, clock = world
    channels["mail"].fail = 1
    die(client)
    tick(evaluator)
    assert kinds(channels["ops"]) == ["opened"] and channels["mail"].sent == []
    tick(evaluator)
    assert channels["mail"].sent == [], "retried after its backoff, not at once"
    clock.offset = 6
    tick(evaluator)
    assert kinds(channels["mail"]) == ["opened"] and kinds(channels["ops"]) == ["opened"]
    assert client.zcard(keys.OUTBOX) == 0


def test_signature_failures_open_and_clear_a_condition_issue(client, world):
    evaluator, channels, clock = world
    now = time.time()
    client.set(keys.counter("sig", "stripe", minute(now)), 3)
    tick(evaluator)
    [opened] = channels["ops"].sent
    assert (
        opened.kind == "opened"
        and opened.issue.kind == "signature_failures"
        and opened.issue.source == "stripe"
    )
    clock.offset = 400
    tick(evaluator)
    assert kinds(channels["ops"], "sigs") == ["opened", "resolved"]


def test_queue_lag_must_last_its_window_and_workers_down_is_seen(client, world):
    evaluator, channels, clock = world
    old = {"message_timestamp": (time.time() - 120) * 1000}
    client.rpush(keys.dramatiq_queue("deliver"), "m1")
    client.hset(keys.dramatiq_messages("deliver"), "m1", json.dumps(old))
    tick(evaluator)
    assert channels["ops"].sent == [], "over the threshold, but not for a minute yet"
    clock.offset = 70
    tick(evaluator)
    assert sorted(n.issue.kind for n in channels["ops"].sent) == ["queue_lag", "workers_down"]


def test_a_destination_down_for_its_window_opens_an_issue(client, world):
    evaluator, channels, clock = world
    die(client, consumer="crm")
    clock.offset = 301
    tick(evaluator)
    assert [n.issue.kind for n in channels["ops"].sent if n.issue.kind == "destination_down"] == [
        "destination_down"
    ]


def test_a_breaker_opening_notifies_once_and_closing_once_whatever_it_holds(client, world):
    evaluator, channels, clock = world
    lanes = Lanes(client)
    lanes.announce({"billing": LaneConfig(max_in_flight=4, failures=2, cooldown_ms=60_000)})
    ledger, now = Ledger(client), time.time()
    for n in range(2):  # two failures in a row open it
        client.zadd(keys.lane_in_flight("billing"), {f"m{n}": now * 1000})
        ledger.apply([Ledger.lane_op("billing", f"m{n}", "failure", error="ForwardFailed: answered 500")])
    assert lanes.status("billing").breaker_state == "open"
    for _ in range(3):  # however long it stays open, and whatever it holds: one notification
        tick(evaluator)
        clock.offset += 60
    down = [n for n in channels["ops"].sent if n.issue.kind == "destination_down"]
    assert [(n.kind, n.issue.consumer) for n in down] == [("opened", "billing")]

    client.zadd(keys.lane_in_flight("billing"), {"probe": now * 1000})
    ledger.apply([Ledger.lane_op("billing", "probe", "success")])
    tick(evaluator)
    down = [n for n in channels["ops"].sent if n.issue.kind == "destination_down"]
    assert [n.kind for n in down] == ["opened", "resolved"]


def test_only_the_lease_holder_writes(client, world):
    evaluator, _, _ = world
    die(client)
    other = Evaluator(
        client,
        Settings.model_validate({"alerts": [], "channels": {}}),
        {},
        Lease(client, "alerts", 30, holder="other"),
    )
    assert evaluator.lease.acquire() and not other.lease.acquire()
    other._rules = evaluator._rules  # the same rules, evaluated by a process that lost the election
    with pytest.raises(LeaseLost):
        other.tick()
    assert client.zcard(keys.OUTBOX) == 0
    other.outbox.close()


def test_email_urls_for_apprise():
    assert email_url("smtp://127.0.0.1:2525", "h@x.org", ("a@x.org", "b@x.org")) == (
        "mailto://127.0.0.1:2525?from=h%40x.org&to=a%40x.org%2Cb%40x.org&mode=insecure&smtp=127.0.0.1"
    )
    assert email_url("smtps://u%40x:p%2Fw@mail.example:465", "h@x", ("o@x",)).startswith(
        "mailto://u%40x:p%2Fw@mail.example:465?"
    )
    with pytest.raises(ValueError, match="smtp_url"):
        email_url("http://mail", "h@x", ("o@x",))


def test_redis_going_away_is_told_by_the_process_that_held_the_lease(client, monkeypatch):
    from gateway.alerts.service import AlertService

    settings = Settings.model_validate(
        {
            "alerts": [{"name": "redis", "when": "redis_unavailable", "window": "1s", "channels": ["ops"]}],
            "channels": {"ops": {"kind": "slack", "url": "http://127.0.0.1:9/slack"}},
        }
    )
    ops = Recorder("ops")
    now = [time.time()]
    service = AlertService(client, settings, {"ops": ops}, clock=lambda: now[0])
    service.tick()  # takes the lease, evaluates
    real_acquire = service.evaluator.lease.acquire

    def down() -> bool:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(service.evaluator.lease, "acquire", down)
    with pytest.raises(redis.ConnectionError):
        service.tick()
    assert ops.sent == [], "not for the window yet"
    now[0] += 1.1
    with pytest.raises(redis.ConnectionError):
        service.tick()
    with pytest.raises(redis.ConnectionError):
        service.tick()
    assert [n.kind for n in ops.sent] == ["opened"] and "Redis does not answer" in ops.sent[0].title
    monkeypatch.setattr(service.evaluator.lease, "acquire", real_acquire)
    service.tick()
    assert [n.kind for n in ops.sent] == ["opened", "resolved"]
    service.stop()
