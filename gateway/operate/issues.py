"""Issues (failures grouped by consumer, error type and message) as operators work them: list, show,
acknowledge, resolve, ignore, and retry every dead letter of one."""

from __future__ import annotations

from typing import Any

from gateway.alerts.issues import Issue
from gateway.operate.context import Context
from gateway.store.paging import Cursor


def page(
    ctx: Context, *, status: str | None = None, limit: int = 50, after: Cursor | None = None
) -> tuple[list[Issue], str | None]:
    """Issues with ``status`` (any: None), the most recently seen first, and the next page's cursor."""
    return ctx.issues.page(status=status, limit=limit, after=after)


def get(ctx: Context, issue_id: str) -> Issue | None:
    return ctx.issues.get(issue_id)


def show(ctx: Context, issue_id: str, *, events: int = 50) -> dict[str, Any] | None:
    """One issue's record with (at most ``events`` of) the newest events it touched."""
    issue = ctx.issues.get(issue_id)
    if issue is None:
        return None
    return {**issue.record(), "events": ctx.issues.events(issue_id, limit=events)}


def set_status(ctx: Context, issue_id: str, status: str) -> Issue | None:
    """Acknowledge, resolve or ignore the issue; None: no such issue."""
    return ctx.issues.set_status(issue_id, status)


def retry(ctx: Context, issue_id: str) -> int | None:
    """Retry every dead letter of the issue, each with a fresh retry budget: how many (None: no such
    issue)."""
    if ctx.issues.get(issue_id) is None:
        return None
    return ctx.issues.retry_dead_letters(issue_id)
