"""The alert evaluator: one process at a time (any worker or gateway; a Redis lease elects it) resolves
quiet issues, checks each ``[[alerts]]`` rule, and queues one notification per channel when an issue a
rule watches opens, a reminder at most every ``remind_every`` while it stays open (not acknowledged),
and one when it resolves; then it sends what is due (``outbox``).

What was notified lives in Redis (``hg:alert:{rule}:{issue}``), written in the same transaction as the
notifications it queues and only while this process still holds the lease, so the next evaluator after
a hand-over neither repeats nor misses one. Only Redis itself going away is watched from memory: the
process that held the lease sends those notifications straight to the channels.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import redis
import structlog

from gateway.alerts.channels import Channel, Notification
from gateway.alerts.counters import window_sum
from gateway.alerts.issues import Issue, Issues, condition_id
from gateway.alerts.outbox import Outbox, encode, item_id
from gateway.config import AlertSettings, Settings
from gateway.store import keys
from gateway.store.lease import Lease

log = structlog.get_logger("hookgate.alerts")

_QUEUES = (keys.DISPATCH_QUEUE, keys.DELIVER_QUEUE)


class LeaseLost(Exception):
    """Another process took over evaluation; this one's writes were dropped."""


class Evaluator:
    """One evaluation, run by the process holding the lease."""

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        channels: dict[str, Channel],
        lease: Lease,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._rules = settings.alerts
        self._sources = sorted(settings.sources)
        self._resolve_after = settings.issues.resolve_after_seconds
        self._keep_seconds = settings.retention.events_seconds
        self._link = (settings.admin.public_url or "").rstrip("/")
        self._clock = clock
        self.lease = lease
        self.issues = Issues(client)
        self.outbox = Outbox(client, channels)
        self.channels = channels

    def tick(self) -> None:
        now = self._clock()
        for issue in self.issues.resolve_quiet(now, self._resolve_after):
            log.info("issue resolved: its consumer succeeds again", issue=issue.id, consumer=issue.consumer)
        firing: dict[tuple[str, str], Issue] = {}
        for rule in self._rules:
            for issue in self._firing(rule, now):
                firing[(rule.name, issue.id)] = issue
        self._notify(firing, now)
        self.outbox.send_due(self._clock())
        if int(now) % 600 < 10:  # now and then
            self.issues.prune(now, self._keep_seconds)

    # Conditions

    def _firing(self, rule: AlertSettings, now: float) -> Iterator[Issue]:
        if rule.when in ("dead_letters", "failures"):
            yield from self._failing_issues(rule, now)
        elif rule.when == "destination_down":
            yield from self._destinations_down(rule, now)
        elif rule.when == "queue_lag":
            yield from self._queue_lag(rule, now)
        elif rule.when == "signature_failures":
            yield from self._signature_failures(rule, now)
        elif rule.when == "workers_down":
            yield from self._workers_down(rule, now)
        # redis_unavailable is watched by AlertService, from memory

    def _failing_issues(self, rule: AlertSettings, now: float) -> Iterator[Issue]:
        candidates = [
            issue
            for issue in self.issues.open_issues()
            if issue.kind == "failure"
            and (rule.consumer is None or issue.consumer == rule.consumer)
            and (rule.source is None or issue.source == rule.source)
        ]
        kind = "dead" if rule.when == "dead_letters" else "fail"
        counts = window_sum(self._client, kind, [i.id for i in candidates], rule.window_seconds, now)
        for issue in candidates:
            if counts[issue.id] >= rule.threshold:
                yield issue

    def _destinations_down(self, rule: AlertSettings, now: float) -> Iterator[Issue]:
        """A consumer failing with no success for the window, or whose breaker is open (its deliveries
        held): one condition issue, opened once and resolved once, however many deliveries it holds."""
        if rule.consumer is not None:
            consumers = [rule.consumer]
        else:
            members = self._client.sunion([keys.CONSUMERS, keys.LANES])
            consumers = sorted(m.decode() for m in members)  # type: ignore[union-attr]
        for consumer in consumers:
            raw: bytes | None = self._client.hget(keys.consumer_health(consumer), "failing_since")  # type: ignore[assignment]
            since = float(raw) if raw else None
            issue_id = condition_id(rule.name, consumer)
            lane: list[bytes | None] = self._client.hmget(keys.lane(consumer), "state", "last_error")  # type: ignore[assignment]
            if lane[0] in (b"open", b"half-open"):
                yield self.issues.open_condition(
                    issue_id,
                    rule.when,
                    f"{consumer} is down: its breaker is open and its deliveries are held",
                    (lane[1] or b"").decode(errors="replace"),
                    now,
                    consumer=consumer,
                )
            elif since is not None and now - since >= rule.window_seconds:
                minutes = int((now - since) // 60)
                yield self.issues.open_condition(
                    issue_id,
                    rule.when,
                    f"{consumer} has failed without a success for {minutes} min",
                    f"failing since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(since))}",
                    now,
                    consumer=consumer,
                )
            else:
                self.issues.clear_condition(issue_id, now)

    def _queue_lag(self, rule: AlertSettings, now: float) -> Iterator[Issue]:
        lag = self._oldest_queued_age(now)
        issue_id = condition_id(rule.name, "queues")
        state = keys.rule_state(rule.name)
        if lag >= rule.threshold:
            self._client.hsetnx(state, "since", repr(now))
            since = float(self._client.hget(state, "since") or now)
            if now - since >= rule.window_seconds:
                yield self.issues.open_condition(
                    issue_id,
                    rule.when,
                    f"the oldest queued message is {lag:.0f} s old (over {rule.threshold:g} s)",
                    f"over the threshold for {now - since:.0f} s",
                    now,
                )
                return
        else:
            self._client.hdel(state, "since")
            self.issues.clear_condition(issue_id, now)

    def _oldest_queued_age(self, now: float) -> float:
        with self._client.pipeline(transaction=False) as pipe:
            for queue in _QUEUES:
                pipe.lindex(keys.dramatiq_queue(queue), 0)
            heads = pipe.execute()
        with self._client.pipeline(transaction=False) as pipe:
            for queue, head in zip(_QUEUES, heads, strict=True):
                pipe.hget(keys.dramatiq_messages(queue), head or b"-")
            messages = pipe.execute()
        ages = [now - json.loads(raw)["message_timestamp"] / 1000 for raw in messages if raw]
        return float(max([0.0, *ages]))

    def _signature_failures(self, rule: AlertSettings, now: float) -> Iterator[Issue]:
        sources = [rule.source] if rule.source else self._sources
        counts = window_sum(self._client, "sig", sources, rule.window_seconds, now)
        for source, refused in counts.items():
            issue_id = condition_id(rule.name, source)
            if refused >= rule.threshold:
                yield self.issues.open_condition(
                    issue_id,
                    rule.when,
                    f"{refused} deliveries to {source} refused for their signature in {rule.window}",
                    "a rotated secret nobody updated, a misconfigured sender, or someone probing",
                    now,
                    source=source,
                )
            else:
                self.issues.clear_condition(issue_id, now)

    def _workers_down(self, rule: AlertSettings, now: float) -> Iterator[Issue]:
        newest: list[tuple[bytes, float]] = self._client.zrevrange(
            keys.DRAMATIQ_HEARTBEATS, 0, 0, withscores=True
        )  # type: ignore[assignment]
        last_beat = newest[0][1] / 1000 if newest else None
        issue_id = condition_id(rule.name, "workers")
        if last_beat is None or now - last_beat >= rule.window_seconds:
            silent = (
                "no worker has ever beaten"
                if last_beat is None
                else f"no heartbeat for {now - last_beat:.0f} s"
            )
            yield self.issues.open_condition(
                issue_id, rule.when, "no worker is running", f"{silent}: events wait unprocessed", now
            )
        else:
            self.issues.clear_condition(issue_id, now)

    # Notifications

    def _notify(self, firing: dict[tuple[str, str], Issue], now: float) -> None:
        rules = {rule.name: rule for rule in self._rules}
        active = {tuple(m.decode().split("\0", 1)) for m in self._client.smembers(keys.ALERTS_ACTIVE)}  # type: ignore[union-attr]
        for rule_name, issue_id in sorted(active):
            rule = rules.get(rule_name)
            issue = self.issues.get(issue_id)
            if rule is None or issue is None or issue.status == "ignored":
                self._write(rule_name, issue_id, None, [], forget=True)
            elif issue.status == "resolved":
                self._write(
                    rule_name, issue_id, None, [self._notification("resolved", rule, issue)], forget=True
                )
            elif issue.status == "open" and rule.remind_seconds is not None:
                last_sent = float(self._client.hget(keys.alert_state(rule_name, issue_id), "last_sent") or 0)
                if now - last_sent >= rule.remind_seconds:
                    self._write(rule_name, issue_id, now, [self._notification("reminder", rule, issue)])
        for (rule_name, issue_id), issue in sorted(firing.items()):
            if (rule_name, issue_id) in active or issue.status != "open":
                continue
            rule = rules[rule_name]
            self._write(rule_name, issue_id, now, [self._notification("opened", rule, issue)], opened=True)
            log.warning(
                "alert", rule=rule_name, issue=issue_id, title=issue.title, channels=list(rule.channels)
            )

    def _notification(
        self, kind: str, rule: AlertSettings, issue: Issue
    ) -> tuple[Notification, tuple[str, ...]]:
        link = f"{self._link}/dashboard/issues/{issue.id}" if self._link else f"/dashboard/issues/{issue.id}"
        return Notification("ntf_" + uuid.uuid4().hex[:20], kind, rule.name, issue, link), rule.channels

    def _write(
        self,
        rule: str,
        issue_id: str,
        sent_at: float | None,
        notifications: list[tuple[Notification, tuple[str, ...]]],
        *,
        opened: bool = False,
        forget: bool = False,
    ) -> None:
        """Record what was notified and queue the notifications, in one transaction, only while this
        process holds the lease."""
        state = keys.alert_state(rule, issue_id)
        now = self._clock()
        with self._client.pipeline(transaction=True) as pipe:
            pipe.watch(self.lease.key)  # type: ignore[no-untyped-call]
            if pipe.get(self.lease.key) != self.lease.holder.encode():
                raise LeaseLost
            pipe.multi()
            for notification, channels in notifications:
                for channel in channels:
                    identifier = item_id(notification.id, channel)
                    pipe.hset(keys.outbox_item(identifier), mapping=encode(notification, channel, now))  # type: ignore[arg-type]
                    pipe.zadd(keys.OUTBOX, {identifier: now})
            if forget:
                pipe.delete(state)
                pipe.srem(keys.ALERTS_ACTIVE, f"{rule}\0{issue_id}")
            else:
                if opened:
                    pipe.hset(state, "opened_at", repr(sent_at))
                    pipe.sadd(keys.ALERTS_ACTIVE, f"{rule}\0{issue_id}")
                pipe.hset(state, "last_sent", repr(sent_at))
            pipe.execute()


def redis_unavailable_notification(rule: AlertSettings, kind: str, since: float, now: float) -> Notification:
    """What is sent straight to the channels when Redis does not answer (and when it does again)."""
    host = socket.gethostname()
    issue = Issue(
        id=condition_id(rule.name, "redis"),
        kind="redis_unavailable",
        status="resolved" if kind == "resolved" else "open",
        title=f"Redis does not answer ({host})",
        last_error=f"unreachable since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(since))}",
        first_seen=since,
        last_seen=now,
        opened_at=since,
        resolved_at=now if kind == "resolved" else None,
    )
    return Notification("ntf_" + uuid.uuid4().hex[:20], kind, rule.name, issue, None)
