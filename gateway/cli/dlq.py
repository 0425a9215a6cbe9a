"""``hookgate dlq list|show|retry|discard|purge``: the dead-letter queue."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gateway.cli.common import config_option, fail, load, operators, run, table, time_option

if TYPE_CHECKING:
    from gateway.operate import Context
    from gateway.store.dlq import DeadLetterFilter

F = TypeVar("F", bound=Callable[..., Any])


def _dlq_filter(
    source: str | None, consumer: str | None, q: str | None, since: str | None, until: str | None
) -> DeadLetterFilter:
    from gateway.operate import filters

    return run(
        lambda: filters.dead_letter_filter(source=source, consumer=consumer, q=q, since=since, until=until)
    )


def _dlq_filters(func: F) -> F:
    for decorator in reversed(
        [
            click.option("--source", default=None),
            click.option("--consumer", default=None),
            click.option("--q", "q", default=None, help="Text in the error."),
            time_option("since"),
            time_option("until"),
        ]
    ):
        func = decorator(func)
    return func


@click.group()
def dlq() -> None:
    """The dead-letter queue."""


@dlq.command("list")
@config_option
@_dlq_filters
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def dlq_list(
    config_file: Path | None,
    source: str | None,
    consumer: str | None,
    q: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Dead letters, newest first."""
    from gateway.operate import dead_letters

    where = _dlq_filter(source, consumer, q, since, until)
    settings = load(config_file)
    items, _ = run(lambda: dead_letters.page(operators(settings), where, limit=limit))
    for item in items:
        item.pop("traceback", None)
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    rows = [
        [e["id"], e["failed_at"], e["consumer"], e["event_id"], e["event_type"], e["attempts"], e["error"]]
        for e in items
    ]
    table(
        f"{len(items)} dead letter(s)",
        ["id", "failed", "consumer", "event", "type", "attempts", "error"],
        rows,
    )


@dlq.command("show")
@config_option
@click.argument("entry_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def dlq_show(config_file: Path | None, entry_id: str, as_json: bool) -> None:
    """One dead letter with its traceback and attempt history."""
    from gateway.operate import dead_letters

    settings = load(config_file)
    record = run(lambda: dead_letters.show(operators(settings), entry_id))
    if record is None:
        fail(f"no dead letter {entry_id!r}")
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    for key in ("id", "event_id", "consumer", "source", "event_type", "attempts", "failed_at", "error"):
        click.echo(f"{key}: {record[key]}")
    click.echo(record["traceback"])
    rows = [[a["at"], a["attempt"], a["outcome"], a.get("error")] for a in record["history"]]
    table("history", ["at", "attempt", "outcome", "error"], rows)


def _each_entry(
    context: Context, entry_ids: tuple[str, ...], where: DeadLetterFilter, every: bool
) -> list[str]:
    if entry_ids and every:
        fail("give entry ids or --all with filters, not both", code=2)
    if not entry_ids and not every:
        fail("give entry ids, or --all (with filters) for every matching entry", code=2)
    from gateway.operate import dead_letters

    return list(entry_ids) or dead_letters.matching_ids(context, where)


@dlq.command("retry")
@config_option
@click.argument("entry_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every entry matching the filters.")
@_dlq_filters
def dlq_retry(
    config_file: Path | None,
    entry_ids: tuple[str, ...],
    every: bool,
    source: str | None,
    consumer: str | None,
    q: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Send dead letters to their consumer again, with a fresh retry budget."""
    from gateway.operate import dead_letters

    where = _dlq_filter(source, consumer, q, since, until)
    settings = load(config_file)
    context = run(lambda: operators(settings, can_enqueue=True))
    ids = run(lambda: _each_entry(context, entry_ids, where, every))
    missing = [i for i in ids if not run(functools.partial(dead_letters.retry, context, i))]
    click.echo(f"retried {len(ids) - len(missing)} dead letter(s)")
    if missing:
        fail(f"no dead letter {', '.join(map(repr, missing))}")


@dlq.command("discard")
@config_option
@click.argument("entry_ids", nargs=-1, required=True)
def dlq_discard(config_file: Path | None, entry_ids: tuple[str, ...]) -> None:
    """Drop dead letters (the events stay stored)."""
    from gateway.operate import dead_letters

    settings = load(config_file)
    context = run(lambda: operators(settings))
    missing = [i for i in entry_ids if not run(functools.partial(dead_letters.discard, context, i))]
    click.echo(f"discarded {len(entry_ids) - len(missing)} dead letter(s)")
    if missing:
        fail(f"no dead letter {', '.join(map(repr, missing))}")


@dlq.command("purge")
@config_option
@_dlq_filters
@time_option("older-than")
@click.option("--yes", is_flag=True, help="Do not ask.")
def dlq_purge(
    config_file: Path | None,
    source: str | None,
    consumer: str | None,
    q: str | None,
    since: str | None,
    until: str | None,
    older_than: str | None,
    yes: bool,
) -> None:
    """Discard every dead letter matching the filters (and failed before --older-than)."""
    from gateway.operate import dead_letters, filters

    where = _dlq_filter(source, consumer, q, since, until)
    cutoff = run(lambda: filters.time_arg("older_than", older_than))
    settings = load(config_file)
    if not yes:
        if not sys.stdin.isatty():
            fail("purge discards dead letters: confirm with --yes (no terminal to ask on)", code=2)
        click.confirm("Discard every matching dead letter?", abort=True)
    purged = run(lambda: dead_letters.purge(operators(settings), where, older_than=cutoff))
    click.echo(f"purged {purged} dead letter(s)")
