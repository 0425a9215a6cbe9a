"""``hookgate replay``: re-enqueue stored events, by id or by filter. A replay by filter is the operator
layer's one bulk replay (``operate.replay.BulkReplay``, which the admin API runs as a worker's job), run
here in this process with a progress bar."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import (
    config_option,
    fail,
    load,
    operators,
    run,
    search_options,
    time_option,
)
from gateway.store.events import STATUSES

#: Asking first above this many events (the contract's threshold).
CONFIRM_ABOVE = 1000


@click.command()
@config_option
@click.argument("event_ids", nargs=-1)
@click.option("--source", default=None)
@click.option("--status", default=None, type=click.Choice(STATUSES))
@click.option("--event-type", default=None, help="Glob, e.g. 'invoice.*'.")
@time_option("since")
@time_option("until")
@search_options
@click.option(
    "--consumer",
    default=None,
    help="Replay to this consumer only; with filters, only the events routed to it (those it has seen). "
    "Events given by id go to it whether it has seen them or not.",
)
@click.option("--force", is_flag=True, help="Re-run consumers that already succeeded (new idempotency key).")
@click.option(
    "--ignore-filters",
    is_flag=True,
    help="Send to every consumer the event routes to, whatever their filters say now.",
)
@click.option("--dry-run", is_flag=True, help="Show which events would be replayed; enqueue nothing.")
@click.option("--rate", default=None, type=click.FloatRange(min=0.01), help="At most N events per second.")
@click.option("--yes", is_flag=True, help=f"Do not ask before replaying more than {CONFIRM_ABOVE} events.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: print the events as JSON.")
def replay(
    config_file: Path | None,
    event_ids: tuple[str, ...],
    source: str | None,
    status: str | None,
    event_type: str | None,
    since: str | None,
    until: str | None,
    match: str | None,
    header: tuple[str, ...],
    consumer: str | None,
    force: bool,
    ignore_filters: bool,
    dry_run: bool,
    rate: float | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Re-enqueue stored events: by id, or every event matching the filters."""
    from gateway.operate import events, filters
    from gateway.operate import replay as use_replay

    filtered = any(v is not None for v in (source, status, event_type, since, until, match)) or bool(header)
    if event_ids and filtered:
        fail("give event ids or filters, not both", code=2)
    if not event_ids and not filtered:
        fail("give event ids, or filters such as --source S --since 2h", code=2)
    where = run(
        lambda: filters.event_filter(
            source=source,
            status=status,
            event_type=event_type,
            since=since,
            until=until,
            match=match,
            header=header,
        )
    )
    settings = load(config_file)
    context = run(lambda: operators(settings, can_enqueue=not dry_run))
    sends: Iterator[str]
    if event_ids:
        if dry_run:
            found = (run(functools.partial(events.show, context, event_id)) for event_id in event_ids)
            _print_dry_run([record for record in found if record], as_json)
            return
        if consumer is not None:
            run(lambda: use_replay.check_consumer(context, consumer))
        total = len(event_ids)
        sends = use_replay.replay(
            context, event_ids, force=force, consumer=consumer, ignore_filters=ignore_filters
        )
    else:
        bulk = run(
            lambda: use_replay.BulkReplay(
                context,
                where,
                force=force,
                consumer=consumer,
                dry_run=dry_run,
                ignore_filters=ignore_filters,
            )
        )
        if dry_run:
            _print_dry_run([summary.record() for summary, _ in run(lambda: list(bulk.matching()))], as_json)
            return
        total = run(lambda: sum(1 for _ in bulk.matching()))
        sends = (summary.event_id for summary, _ in bulk.matching() if bulk.send(summary.event_id))
    if total > CONFIRM_ABOVE and not yes:
        if not sys.stdin.isatty():
            fail(f"{total} events match: confirm with --yes (no terminal to ask on)", code=2)
        click.confirm(f"Replay {total} events?", abort=True)
    sent = _with_progress(sends, total, rate)
    skipped = max(0, total - sent)
    click.echo(f"replayed {sent} event(s)" + (f"; {skipped} not found (expired?)" if skipped else ""))
    if event_ids and skipped:
        sys.exit(1)


def _print_dry_run(records: list[dict[str, Any]], as_json: bool) -> None:
    slim = [{k: r[k] for k in ("event_id", "source", "event_type", "status", "received_at")} for r in records]
    if as_json:
        click.echo(json.dumps(slim, indent=2))
        return
    for r in slim:
        click.echo(f"{r['event_id']}  {r['received_at']}  {r['source']}  {r['event_type']}  {r['status']}")
    click.echo(f"would replay {len(slim)} event(s); nothing enqueued (--dry-run)")


def _with_progress(sends: Iterator[str], total: int, rate: float | None) -> int:
    """Run ``sends`` (the ids of the events sent) under a progress bar, at most ``rate`` a second: how
    many were sent. Ctrl-C or a lost Redis stops it, saying how far it got (exit 1)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.platform.connections import REDIS_ERRORS

    sent = 0
    started = time.monotonic()
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, transient=True) as progress:
            task = progress.add_task("replay", total=total)
            for _ in sends:
                sent += 1
                progress.advance(task)
                if rate is not None:
                    time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    except KeyboardInterrupt:
        fail(f"stopped: replayed {sent} of {total} event(s)")
    except REDIS_ERRORS as exc:
        fail(f"cannot reach Redis after {sent} of {total} event(s): {exc}")
    return sent
