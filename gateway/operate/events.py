"""Stored events as operators see them: a page of them, every one matching a filter, one in full."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway.operate.context import Context
from gateway.operate.filters import BadRequest
from gateway.platform.timeparse import rfc3339
from gateway.store.events import EventFilter, EventSummary
from gateway.store.paging import Cursor


def check_filter(ctx: Context, where: EventFilter) -> None:
    """BadRequest for a payload or header search without the record to search."""
    if where.searches and not ctx.has_record:
        field = "match" if where.match is not None else "header"
        raise BadRequest(field, "payload and header search need the record ([record] url, PostgreSQL)")


def walk(ctx: Context, where: EventFilter, *, after: Cursor | None = None) -> Iterator[EventSummary]:
    """Every event matching ``where``, newest first."""
    check_filter(ctx, where)
    return (summary for summary, _ in ctx.events.iter(where, after=after))


def page(
    ctx: Context, where: EventFilter, *, limit: int = 50, after: Cursor | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of events, newest first, and the cursor of the next one (None: the last page)."""
    check_filter(ctx, where)
    items, cursor = ctx.events.page(where, limit=limit, after=after)
    return [item.record() for item in items], None if cursor is None else str(cursor)


def show(ctx: Context, event_id: str) -> dict[str, Any] | None:
    """Metadata, headers, body (text when UTF-8, always base64), consumer states and attempts."""
    record = ctx.events.get(event_id)
    if record is None:
        return None
    if "consumers" in record:  # archived: the record keeps them
        return record
    record["consumers"] = ctx.ledger.states(event_id)
    record["attempts"] = [
        {**attempt, "at": rfc3339(attempt["at"])} for attempt in ctx.ledger.attempts(event_id)
    ]
    return record
