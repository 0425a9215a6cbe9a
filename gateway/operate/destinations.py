"""Destinations (every consumer's lane) as operators work them: list, show, pause, resume, and move
the deliveries a lane holds to the dead-letter queue. A name no worker has announced is no destination:
each call answers None for it, which every front end shows as not found."""

from __future__ import annotations

from typing import Any

from gateway.operate.context import Context
from gateway.platform.timeparse import rfc3339
from gateway.store.lanes import LaneStatus, UnknownLane

#: The times of a destination's record, given as RFC 3339 (None stays None).
_TIMES = ("last_failure_at", "last_success_at", "opened_at", "reopen_at", "paused_at")


def list_all(ctx: Context) -> list[dict[str, Any]]:
    """Every destination a worker has announced, by name."""
    return [record(status) for status in ctx.lanes.statuses()]


def show(ctx: Context, name: str) -> dict[str, Any] | None:
    """One destination: its state, held and in-flight deliveries, settings and last failure."""
    try:
        return record(ctx.lanes.status(name))
    except UnknownLane:
        return None


def pause(ctx: Context, name: str) -> dict[str, Any] | None:
    """Hold every delivery of the destination until it is resumed; the destination now."""
    try:
        ctx.lanes.pause(name)
    except UnknownLane:
        return None
    return show(ctx, name)


def resume(ctx: Context, name: str) -> dict[str, Any] | None:
    """Stop holding: what is held starts, oldest first, at the destination's rate; the destination now."""
    try:
        ctx.lanes.resume(name)
    except UnknownLane:
        return None
    return show(ctx, name)


def dead_letter_held(ctx: Context, name: str) -> int | None:
    """Move every delivery the destination holds to the dead-letter queue (from where each can be
    retried); how many moved."""
    try:
        return ctx.lanes.dead_letter_held(name)
    except UnknownLane:
        return None


def record(status: LaneStatus) -> dict[str, Any]:
    """A destination's one JSON shape (CLI ``--json``, the API, the dashboard): times as RFC 3339."""
    fields = status.as_dict()
    for name in _TIMES:
        if fields[name] is not None:
            fields[name] = rfc3339(fields[name])
    return fields
