"""Replaying stored events: some by id (``replay``), or every event a filter matches (``BulkReplay``,
the one bulk replay: the CLI runs it in its own process, with a progress bar; the admin API enqueues
it as a worker's job, ``gateway.operate.jobs``).

``consumer`` means the same everywhere: the replay goes to that consumer alone. In a bulk replay it
also selects: only the events routed to that consumer (those it has a state for) are replayed. Events
named by id are sent to it whether it saw them or not (an operator may hand an old event to a new
consumer), and its filter is not asked: the operator chose it.

Otherwise a replay routes the event again and the consumers' filters decide again (the config may have
changed since), unless ``ignore_filters``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from gateway.operate import events
from gateway.operate.context import Context, Enqueue
from gateway.operate.filters import BadRequest
from gateway.store import keys
from gateway.store.events import EventFilter, EventSummary
from gateway.store.ledger import Ledger
from gateway.store.paging import Cursor


def check_consumer(ctx: Context, name: str) -> None:
    """BadRequest unless ``name`` is a configured forward or a consumer a worker announced."""
    if name in ctx.forwards or ctx.client.sismember(keys.KNOWN_CONSUMERS, name):
        return
    reason = f"no consumer named {name!r} (not a [[forward]], and no worker runs one)"
    raise BadRequest("consumer", reason)


def replay(
    ctx: Context,
    event_ids: Iterable[str],
    *,
    force: bool = False,
    consumer: str | None = None,
    ignore_filters: bool = False,
) -> Iterator[str]:
    """Enqueue each stored event again, yielding its id once sent (ids of gone events are skipped).

    By default consumers that already succeeded are skipped; ``force`` re-runs them all, as the n-th
    forced replay of the event, whose consumers see the idempotency key ``{event}:{consumer}:r{n}``.
    ``consumer`` sends it to that consumer alone. Needs a context that can enqueue.
    """
    actors = _actors(ctx)
    if consumer is not None:
        check_consumer(ctx, consumer)
    for event_id in event_ids:
        if _send(ctx, actors, event_id, force=force, consumer=consumer, ignore_filters=ignore_filters):
            yield event_id


class BulkReplay:
    """Every stored event matching a filter, replayed: with ``consumer``, only the events routed to it,
    to it alone; with ``dry_run``, nothing is sent. Built from the operator's input, it checks it
    (BadRequest) before anything runs."""

    def __init__(
        self,
        ctx: Context,
        where: EventFilter,
        *,
        force: bool = False,
        consumer: str | None = None,
        dry_run: bool = False,
        ignore_filters: bool = False,
    ) -> None:
        self.where = where if consumer is None else dataclasses.replace(where, consumer=consumer)
        events.check_filter(ctx, self.where)
        if consumer is not None:
            check_consumer(ctx, consumer)
        self.force = force
        self.consumer = consumer
        self.dry_run = dry_run
        self.ignore_filters = ignore_filters
        self._ctx = ctx

    def matching(self, *, after: Cursor | None = None) -> Iterator[tuple[EventSummary, Cursor]]:
        """The events it replays, newest first, each with its cursor (a job resumes after one)."""
        return self._ctx.events.iter(self.where, after=after)

    def send(self, event_id: str) -> bool:
        """Replay one of them; False when it is gone (expired) or on a dry run."""
        if self.dry_run:
            return False
        return _send(
            self._ctx,
            _actors(self._ctx),
            event_id,
            force=self.force,
            consumer=self.consumer,
            ignore_filters=self.ignore_filters,
        )


def _actors(ctx: Context) -> Enqueue:
    if ctx.actors is None:
        raise RuntimeError("this operator context was built without a way to enqueue")
    return ctx.actors


def _send(
    ctx: Context, actors: Enqueue, event_id: str, *, force: bool, consumer: str | None, ignore_filters: bool
) -> bool:
    if not ctx.events.restore(event_id):  # archived events come back into the hot path first
        return False
    routing = ctx.events.routing(event_id)
    if routing is None:
        return False
    forced = _next_forced_replay(ctx, event_id) if force else 0
    ctx.ledger.apply([Ledger.status_op(event_id, "queued")])
    if consumer is not None:
        actors.send_to(event_id, consumer, forced)
    else:
        actors.replay(event_id, routing[0], routing[1], forced, ignore_filters=ignore_filters)
    return True


def _next_forced_replay(ctx: Context, event_id: str) -> int:
    """n for the n-th forced replay (kept as long as the event)."""
    client = ctx.client
    with client.pipeline(transaction=True) as pipe:
        pipe.incr(keys.forced_replays(event_id))
        pipe.pexpire(keys.forced_replays(event_id), max(int(client.pttl(keys.event(event_id))), 1000))
        return int(pipe.execute()[0])
