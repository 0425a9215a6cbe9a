"""Counts operators watch: events by status and source, the dead-letter queue, failing consumers, and
the dashboard's overview."""

from __future__ import annotations

from typing import Any

from gateway.operate.context import Context
from gateway.platform.timeparse import rfc3339
from gateway.store import keys


def summary(ctx: Context) -> dict[str, Any]:
    """Counts by status and source (from counters: constant time), the oldest event, the dead-letter
    queue's size and age, and the reconciler's repairs."""
    by_status, by_source = ctx.events.counts()
    oldest = ctx.events.oldest_received()
    return {
        "events": sum(by_status.values()),
        "by_status": by_status,
        "by_source": by_source,
        "oldest_event_at": rfc3339(oldest) if oldest is not None else None,
        **dead_letter_summary(ctx),
        "reconciler_repairs": int(ctx.client.get(keys.REPAIRS) or 0),
    }


def dead_letter_summary(ctx: Context) -> dict[str, Any]:
    """The dead-letter queue's size and when its oldest entry failed."""
    oldest: list[tuple[bytes, float]] = ctx.client.zrange(keys.DLQ_INDEX, 0, 0, withscores=True)  # type: ignore[assignment]
    return {
        "dlq_size": ctx.dead_letters.size(),
        "oldest_dlq_at": rfc3339(oldest[0][1]) if oldest else None,
    }


def failing_consumers(ctx: Context, *, now: float, window: float, limit: int = 10) -> list[dict[str, Any]]:
    """Consumers with dead letters from the last ``window`` seconds, the most first, with the time of
    their oldest one."""
    client = ctx.client
    consumers = sorted(m.decode() for m in client.smembers(keys.DLQ_CONSUMERS))  # type: ignore[union-attr]
    with client.pipeline(transaction=False) as pipe:
        for consumer in consumers:
            pipe.zcount(keys.dlq_by_consumer(consumer), repr(now - window), "+inf")
            pipe.zrangebyscore(
                keys.dlq_by_consumer(consumer),
                repr(now - window),
                "+inf",
                start=0,
                num=1,
                withscores=True,
            )
        replies = pipe.execute()
    rows: list[dict[str, Any]] = [
        {"consumer": consumer, "dead_letters": int(count), "oldest_at": rfc3339(oldest[0][1])}
        for consumer, count, oldest in zip(consumers, replies[::2], replies[1::2], strict=True)
        if count
    ]
    rows.sort(key=lambda row: (-row["dead_letters"], row["consumer"]))
    return rows[:limit]


def overview(
    ctx: Context, sources: list[str], *, now: float, window: float, status_sample: int
) -> dict[str, Any]:
    """The dashboard's overview: the last hour's activity per source, the statuses of (at most
    ``status_sample`` of) its newest events, what is stored, the dead-letter queue, the consumers failing
    within ``window`` seconds and the newest open issues."""
    return {
        "activity": ctx.events.activity(sources, now=now),
        "statuses": ctx.events.recent_statuses(since=now - 3600, limit=status_sample),
        "stored": ctx.events.stored(),
        "dlq": dead_letter_summary(ctx),
        "failing": failing_consumers(ctx, now=now, window=window),
        "open_issues": [issue.record() for issue in ctx.issues.page(status="open", limit=5)[0]],
    }
