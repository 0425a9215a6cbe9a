"""The dead-letter queue as operators work it: list, show, retry (with a fresh retry budget), discard,
purge."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from gateway.operate.context import Context
from gateway.platform.timeparse import rfc3339
from gateway.store.dlq import DeadLetter, DeadLetterFilter, entry_id
from gateway.store.paging import Cursor


def page(
    ctx: Context, where: DeadLetterFilter, *, limit: int = 50, after: Cursor | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of dead letters, newest first, and the cursor of the next one (None: the last page)."""
    items, cursor = ctx.dead_letters.list(where, limit=limit, after=after)
    return [record(entry) for entry in items], None if cursor is None else str(cursor)


def show(ctx: Context, identifier: str) -> dict[str, Any] | None:
    """One dead letter with its traceback and attempt history."""
    entry = ctx.dead_letters.get(identifier)
    if entry is None:
        return None
    return {"history": [], **record(entry)}


def of_event(ctx: Context, event_id: str, consumers: Iterable[str]) -> dict[str, DeadLetter]:
    """The dead letters of ``event_id`` for ``consumers`` (those that have one), without history."""
    found = {c: ctx.dead_letters.get(entry_id(event_id, c), history=False) for c in consumers}
    return {consumer: entry for consumer, entry in found.items() if entry is not None}


def matching_ids(ctx: Context, where: DeadLetterFilter) -> list[str]:
    """The ids of every dead letter matching ``where``."""
    return [entry.id for entry, _ in ctx.dead_letters.iter(where)]


def retry(ctx: Context, identifier: str) -> bool:
    """Send the dead letter to its consumer again, with a fresh retry budget; False: no such entry."""
    return ctx.dead_letters.retry(identifier)


def retry_matching(ctx: Context, where: DeadLetterFilter) -> int:
    """Retry every dead letter matching ``where``; how many."""
    return ctx.dead_letters.retry_matching(where)


def discard(ctx: Context, identifier: str) -> bool:
    """Drop the dead letter (the event stays stored); False: no such entry."""
    return ctx.dead_letters.discard(identifier)


def purge(ctx: Context, where: DeadLetterFilter, *, older_than: float | None = None) -> int:
    """Discard every dead letter matching ``where`` and failed before ``older_than``; how many."""
    return ctx.dead_letters.purge(where, older_than=older_than)


def record(entry: DeadLetter) -> dict[str, Any]:
    """A dead letter's one JSON shape (CLI ``--json``, the API, the dashboard): traceback included; its
    attempt history when read one at a time."""
    fields = asdict(entry)
    fields["failed_at"] = rfc3339(entry.failed_at)
    history = fields.pop("history")
    if entry.history:
        fields["history"] = [{**attempt, "at": rfc3339(attempt["at"])} for attempt in history]
    return fields
