"""Destinations (every consumer's lane) as operators work them: list, show, pause, resume, and move
the deliveries a lane holds to the dead-letter queue. An ordered destination also shows its blocked keys,
each with the event holding it. A name no worker has announced is no destination: each call answers
None for it, which every front end shows as not found."""

from __future__ import annotations

from typing import Any

from gateway.operate.context import Context
from gateway.platform.timeparse import rfc3339
from gateway.store.lanes import BlockedKey, LaneStatus, UnknownLane

#: The times of a destination's record, given as RFC 3339 (None stays None).
_TIMES = ("last_failure_at", "last_success_at", "opened_at", "reopen_at", "paused_at")
#: Blocked keys listed per destination in a list of them, and for one destination.
LISTED_BLOCKED = 10
SHOWN_BLOCKED = 100


def list_all(ctx: Context) -> list[dict[str, Any]]:
    """Every destination a worker has announced, by name (an ordered one with its longest blocked
    keys)."""
    return [
        record(
            status, ctx.lanes.blocked(status.consumer, limit=LISTED_BLOCKED) if status.blocked_keys else []
        )
        for status in ctx.lanes.statuses()
    ]


def show(ctx: Context, name: str) -> dict[str, Any] | None:
    """One destination: its state, held and in-flight deliveries, settings and last failure, and for an
    ordered one its blocked keys, longest blocked first."""
    try:
        status = ctx.lanes.status(name)
    except UnknownLane:
        return None
    return record(status, ctx.lanes.blocked(name, limit=SHOWN_BLOCKED) if status.blocked_keys else [])


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


def record(status: LaneStatus, blocked: list[BlockedKey] | None = None) -> dict[str, Any]:
    """A destination's one JSON shape (CLI ``--json``, the API, the dashboard): times as RFC 3339;
    ``blocked`` the blocked keys listed (``blocked_keys`` counts them all)."""
    fields = status.as_dict()
    for name in _TIMES:
        if fields[name] is not None:
            fields[name] = rfc3339(fields[name])
    fields["blocked"] = [
        {
            "key": key.key,
            "event_id": key.event_id,
            "state": key.state,
            "since": rfc3339(key.since),
            "waiting": key.waiting,
        }
        for key in blocked or []
    ]
    return fields
