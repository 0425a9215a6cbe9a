"""Alerts end to end with real processes: a consumer that keeps failing opens one issue and sends one
notification per channel (a Slack-compatible sink, a real SMTP server, a Standard Webhooks receiver that
checks the signature), reminders at most every interval, one "resolved" after recovery; a channel that
is down is retried and delays no other; killing the evaluating process hands evaluation over without
sending anything twice."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from email import message_from_bytes

import httpx
import pytest
import redis
from aiosmtpd.controller import Controller
from standardwebhooks import Webhook

from gateway.processes.dev import free_port
from gateway.store import keys
from tests.helpers import forward, lease_holder, post, wait_for, write_config

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ADMIN = "alerts-admin-secret"


class Mailbox:
    """A real SMTP server (aiosmtpd) on a free port, keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.port = free_port()
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                mailbox.messages.append(envelope.content)
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def subjects(self) -> list[str]:
        return [str(message_from_bytes(raw)["Subject"]) for raw in self.messages]

    def close(self) -> None:
        self._controller.stop()


@pytest.fixture
def mailbox():
    box = Mailbox()
    yield box
    box.close()


def config(sink, mailbox: Mailbox, *, remind: str) -> str:
    digest = __import__("hashlib").sha256(ADMIN.encode()).hexdigest()
    return (
        forward("billing", sink.url("/billing"), max_retries=0)
        + f"""
[issues]
evaluate_every_seconds = 0.5
resolve_after = "2s"

[[alerts]]
name = "billing-failing"
when = "dead_letters"
consumer = "billing"
threshold = 1
window = "10m"
channels = ["chat", "mail", "hook", "down"]
remind_every = "{remind}"

[channels.chat]
kind = "slack"
url = "{sink.url("/slack")}"

[channels.mail]
kind = "email"
smtp_url = "smtp://127.0.0.1:{mailbox.port}"
from = "hookgate@example.com"
to = ["oncall@example.com"]

[channels.hook]
kind = "webhook"
url = "{sink.url("/hook")}"
secret = "{WHSEC}"

[channels.down]
kind = "slack"
url = "http://127.0.0.1:{free_port()}/nobody-listens"
timeout_seconds = 2

[admin]
public_url = "https://hookgate.example.com"

[[admin.tokens]]
name = "ops"
scopes = ["admin"]
token = "sha256:{digest}"
"""
    )


def texts(sink, path: str) -> list[str]:
    return [json.loads(r.body)["text"] for r in sink.to(path)]


def kinds(sink) -> list[str]:
    """What the webhook channel received, each signature checked with the Standard Webhooks library."""
    verified = []
    for request in sink.to("/hook"):
        headers = {k: v for k, v in request.headers}
        verified.append(Webhook(WHSEC).verify(request.body, headers)["type"].removeprefix("hookgate.issue."))
    return verified


def test_one_issue_one_notification_per_channel_reminders_then_resolved(
    tmp_path, redis_url, sink, mailbox, start_gateway, start_worker
):
    cfg = write_config(tmp_path, config(sink, mailbox, remind="4s"))
    sink.plan("/billing", *[500] * 3)
    gateway = start_gateway(redis_url, config=cfg)
    start_worker(redis_url, config=cfg)
    for _ in range(3):
        post(gateway.url)
    failed = time.monotonic()
    wait_for(lambda: kinds(sink) == ["opened"], timeout=15, message="the opened notification")
    assert time.monotonic() - failed < 8, "a channel that is down delays none of the others"
    wait_for(lambda: mailbox.subjects(), message="the email")
    # The channels are sent one after another, in no promised order: wait for Slack's too.
    wait_for(lambda: texts(sink, "/slack"), message="the Slack notification")
    assert len(texts(sink, "/slack")) == 1
    slack = texts(sink, "/slack")[0]
    assert (
        "billing" in slack
        and "answered 500" in slack
        and "https://hookgate.example.com/dashboard/issues/iss_" in slack
    )
    assert mailbox.subjects()[0].startswith("[hookgate] OPEN: billing")
    client = redis.Redis.from_url(redis_url)
    [issue_id] = [m.decode() for m in client.zrange(keys.ISSUES, 0, -1)]
    assert client.hget(keys.issue(issue_id), "dead_letters") == b"3", "three dead letters, one issue"

    time.sleep(6)  # one reminder (every 4 s) and no more
    assert kinds(sink) == ["opened", "reminder"]

    # The target recovers; its dead letters are retried (API), the consumer succeeds, the issue resolves.
    answer = httpx.post(
        f"{gateway.url}/api/v1/issues/{issue_id}/retry", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert answer.status_code == 202 and answer.json() == {"retried": 3}
    wait_for(lambda: kinds(sink)[-1:] == ["resolved"], timeout=20, message="the resolved notification")
    time.sleep(2)
    assert Counter(kinds(sink)) == {"opened": 1, "reminder": 1, "resolved": 1}
    assert Counter(t.split("\n")[0].split(":")[0] for t in texts(sink, "/slack")) == {
        "*[hookgate] OPEN": 1,
        "*[hookgate] STILL OPEN": 1,
        "*[hookgate] RESOLVED": 1,
    }
    wait_for(lambda: len(mailbox.messages) == 3, message="the three emails")
    time.sleep(1)
    assert [s.split(":")[0] for s in mailbox.subjects()] == [
        "[hookgate] OPEN",
        "[hookgate] STILL OPEN",
        "[hookgate] RESOLVED",
    ]
    assert client.hget(keys.issue(issue_id), "status") == b"resolved"
    assert client.zcard(keys.OUTBOX) > 0, "the down channel's notifications wait for their next try"


def test_killing_the_evaluator_hands_over_without_sending_anything_twice(
    tmp_path, redis_url, sink, mailbox, start_gateway, start_worker
):
    cfg = write_config(tmp_path, config(sink, mailbox, remind="2s"))
    sink.plan("/billing", *[500] * 100)
    gateway = start_gateway(redis_url, config=cfg)
    workers = [start_worker(redis_url, config=cfg), start_worker(redis_url, config=cfg)]
    post(gateway.url)
    wait_for(lambda: kinds(sink) == ["opened"], timeout=15, message="the opened notification")
    client = redis.Redis.from_url(redis_url)
    holder = lease_holder(client, "alerts")
    processes = {gateway.proc.pid: gateway, **{w.proc.pid: w for w in workers}}
    assert holder in processes
    processes[holder].stop(signal.SIGKILL)
    killed = time.monotonic()

    def new_holder() -> int | None:
        pid = lease_holder(client, "alerts")
        return pid if pid and pid != holder else None

    wait_for(new_holder, timeout=15, message="another process to take evaluation over")
    took = time.monotonic() - killed
    assert took < 5 + 0.5 + 3, f"handed over in {took:.1f} s (the lease lapses after 5 s)"
    reminders = len(kinds(sink))
    wait_for(
        lambda: len(kinds(sink)) >= reminders + 2, timeout=15, message="reminders from the new evaluator"
    )
    ids = [dict(r.headers)["webhook-id"] for r in sink.to("/hook")]
    assert len(ids) == len(set(ids)), "no notification is sent twice"
    assert kinds(sink).count("opened") == 1
