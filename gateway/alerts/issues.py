"""Issues: failures grouped by (consumer, error type, normalised message), and conditions an alert rule
watches (a destination down, queue lag, signature failures, workers or Redis gone), each with a status:
open, acknowledged, resolved or ignored.

The worker's settle step counts failures into their issue (``store/lua/record.lua``: created open, reopened
when it had resolved). A failure issue resolves by itself once its consumer has succeeded and the issue
has been quiet for ``[issues] resolve_after``; a condition issue when its condition clears. Operators
acknowledge (stop reminders), resolve or ignore (never notify) from the CLI, the API or the dashboard.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from gateway.platform.timeparse import rfc3339
from gateway.store import keys, scripts
from gateway.store.dlq import DeadLetters
from gateway.store.paging import Cursor, newest_first, take

STATUSES = ("open", "acknowledged", "resolved", "ignored")
#: What an operator may do to an issue, and the status it leads to.
ACTIONS = {"ack": "acknowledged", "resolve": "resolved", "ignore": "ignored"}


@dataclass(frozen=True)
class Issue:
    """One issue, as the CLI, the API and the dashboard show it (``record``)."""

    id: str
    kind: str  # failure, or the condition of the alert rule that opened it
    status: str
    title: str
    consumer: str | None = None
    source: str | None = None
    error_type: str | None = None
    message: str | None = None
    last_error: str | None = None
    last_event: str | None = None
    first_seen: float = 0.0
    last_seen: float = 0.0
    opened_at: float = 0.0
    resolved_at: float | None = None
    count: int = 0
    dead_letters: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Issue:
        fields = {k.decode(): v.decode(errors="replace") for k, v in raw.items()}

        def number(name: str) -> float:
            return float(fields.get(name) or 0)

        kind = fields.get("kind", "failure")
        consumer = fields.get("consumer") or None
        message = fields.get("message") or None
        title = fields.get("title") or f"{consumer}: {message}"
        return cls(
            id=fields["id"],
            kind=kind,
            status=fields.get("status", "open"),
            title=title,
            consumer=consumer,
            source=fields.get("source") or None,
            error_type=fields.get("error_type") or None,
            message=message,
            last_error=fields.get("last_error") or None,
            last_event=fields.get("last_event") or None,
            first_seen=number("first_seen"),
            last_seen=number("last_seen") or number("first_seen"),
            opened_at=number("opened_at"),
            resolved_at=number("resolved_at") or None,
            count=int(number("count")),
            dead_letters=int(number("dead_letters")),
        )

    def record(self) -> dict[str, Any]:
        """The JSON shape of CLI ``--json`` and the API (times in RFC 3339)."""
        shaped = {k: v for k, v in asdict(self).items() if k != "extra"}
        for name in ("first_seen", "last_seen", "opened_at", "resolved_at"):
            shaped[name] = rfc3339(shaped[name]) if shaped[name] else None
        return shaped


def condition_id(rule: str, subject: str) -> str:
    """The issue a condition rule opens for one subject (a consumer, a source, or the whole system)."""
    return "iss_" + hashlib.sha256(f"condition\0{rule}\0{subject}".encode()).hexdigest()[:20]


class Issues:
    """Reads and changes issues."""

    def __init__(self, client: redis.Redis, dead_letters: DeadLetters | None = None) -> None:
        self._client = client
        self._dead_letters = dead_letters
        self._set_status = scripts.register(client, "issue_status")

    def get(self, issue_id: str) -> Issue | None:
        raw: dict[bytes, bytes] = self._client.hgetall(keys.issue(issue_id))  # type: ignore[assignment]
        return Issue.from_hash(raw) if raw else None

    def page(
        self, *, status: str | None = None, limit: int = 50, after: Cursor | None = None
    ) -> tuple[list[Issue], str | None]:
        """Newest activity first; ``next_cursor`` is None on the last page."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(STATUSES)}")
        items, cursor = take(self._walk(status, after), limit)
        return items, None if cursor is None else str(cursor)

    def _walk(self, status: str | None, after: Cursor | None) -> Iterator[tuple[Issue, Cursor]]:
        for issue_id, score in newest_first(self._client, keys.ISSUES, after=after, batch=200):
            raw: dict[bytes, bytes] = self._client.hgetall(keys.issue(issue_id))  # type: ignore[assignment]
            if raw:
                issue = Issue.from_hash(raw)
                if status is None or issue.status == status:
                    yield issue, Cursor(score, issue_id)

    def open_issues(self) -> list[Issue]:
        """Open and acknowledged issues."""
        ids = sorted(m.decode() for m in self._client.smembers(keys.OPEN_ISSUES))  # type: ignore[union-attr]
        with self._client.pipeline(transaction=False) as pipe:
            for issue_id in ids:
                pipe.hgetall(keys.issue(issue_id))
            hashes = pipe.execute()
        return [Issue.from_hash(raw) for raw in hashes if raw]

    def events(self, issue_id: str, limit: int = 50) -> list[str]:
        """The newest affected events."""
        raw: list[bytes] = self._client.zrevrange(keys.issue_events(issue_id), 0, limit - 1)  # type: ignore[assignment]
        return [event.decode() for event in raw]

    def set_status(self, issue_id: str, status: str, now: float | None = None) -> Issue | None:
        """Acknowledge, resolve, ignore or reopen; None when there is no such issue."""
        if status not in STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(STATUSES)}")
        now = time.time() if now is None else now
        changed = self._set_status(
            keys=[keys.issue(issue_id), keys.OPEN_ISSUES], args=[status, repr(now), issue_id]
        )
        return self.get(issue_id) if changed else None

    def retry_dead_letters(self, issue_id: str) -> int:
        """Retry every dead letter of the issue (each with a fresh retry budget); how many."""
        if self._dead_letters is None:
            raise RuntimeError("Issues was built without dead letters that can be retried")
        entries = [m.decode() for m in self._client.zrange(keys.issue_dead_letters(issue_id), 0, -1)]  # type: ignore[union-attr]
        retried = sum(self._dead_letters.retry(entry) for entry in entries)
        self._client.delete(keys.issue_dead_letters(issue_id))
        return retried

    def resolve_quiet(self, now: float, quiet_seconds: float) -> list[Issue]:
        """Resolve the failure issues whose consumer succeeded after their last failure, quiet since for
        ``quiet_seconds``; the issues resolved."""
        resolved = []
        for issue in self.open_issues():
            if issue.kind != "failure" or not issue.consumer or now - issue.last_seen < quiet_seconds:
                continue
            last_success = self._client.hget(keys.consumer_health(issue.consumer), "last_success")
            if last_success is not None and float(last_success) > issue.last_seen:
                changed = self.set_status(issue.id, "resolved", now)
                if changed is not None:
                    resolved.append(changed)
        return resolved

    def open_condition(
        self, issue_id: str, kind: str, title: str, detail: str, now: float, **subject: str | None
    ) -> Issue:
        """Open (or keep open, updating its detail) the issue of a condition that holds now."""
        key = keys.issue(issue_id)
        status = self._client.hget(key, "status")
        fields: dict[str, str | float] = {"last_seen": now, "last_error": detail, "title": title}
        with self._client.pipeline(transaction=True) as pipe:
            if status is None or status == b"resolved":
                fields.update(id=issue_id, kind=kind, status="open", opened_at=now, message=title)
                fields.update({k: v for k, v in subject.items() if v})
                if status is None:
                    fields["first_seen"] = now
                pipe.sadd(keys.OPEN_ISSUES, issue_id)
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.hincrby(key, "count", 1)
            pipe.zadd(keys.ISSUES, {issue_id: now})
            pipe.execute()
        issue = self.get(issue_id)
        assert issue is not None
        return issue

    def clear_condition(self, issue_id: str, now: float) -> Issue | None:
        """The condition no longer holds: its open (or acknowledged) issue resolves."""
        issue = self.get(issue_id)
        if issue is None or issue.status not in ("open", "acknowledged"):
            return None
        return self.set_status(issue_id, "resolved", now)

    def prune(self, now: float, keep_seconds: float) -> int:
        """Forget resolved and ignored issues quiet for longer than ``keep_seconds`` (the event
        retention); how many."""
        stale: list[bytes] = self._client.zrangebyscore(keys.ISSUES, "-inf", repr(now - keep_seconds))  # type: ignore[assignment]
        dropped = 0
        for raw_id in stale:
            issue_id = raw_id.decode()
            status = self._client.hget(keys.issue(issue_id), "status")
            if status in (b"open", b"acknowledged"):
                continue
            self._client.delete(
                keys.issue(issue_id), keys.issue_events(issue_id), keys.issue_dead_letters(issue_id)
            )
            self._client.zrem(keys.ISSUES, issue_id)
            dropped += 1
        return dropped
