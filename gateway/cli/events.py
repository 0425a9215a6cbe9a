"""``hookgate events list|show|stats``: stored events."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.cli.common import (
    config_option,
    fail,
    load,
    operators,
    run,
    search_options,
    table,
    time_option,
)
from gateway.store.events import STATUSES


@click.group()
def events() -> None:
    """Stored events."""


@events.command("list")
@config_option
@click.option("--source", default=None)
@click.option("--status", default=None, type=click.Choice(STATUSES))
@click.option("--event-type", default=None, help="Glob, e.g. 'invoice.*'.")
@click.option("--consumer", default=None, help="Only events routed to this consumer.")
@time_option("since")
@time_option("until")
@search_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def events_list(
    config_file: Path | None,
    source: str | None,
    status: str | None,
    event_type: str | None,
    consumer: str | None,
    since: str | None,
    until: str | None,
    match: str | None,
    header: tuple[str, ...],
    limit: int,
    as_json: bool,
) -> None:
    """Stored events, newest first."""
    from gateway.operate import events as use_events
    from gateway.operate import filters

    where = run(
        lambda: filters.event_filter(
            source=source,
            status=status,
            event_type=event_type,
            consumer=consumer,
            since=since,
            until=until,
            match=match,
            header=header,
        )
    )
    settings = load(config_file)
    items, _ = run(lambda: use_events.page(operators(settings), where, limit=limit))
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    rows = [
        [e["event_id"], e["received_at"], e["source"], e["event_type"], e["status"], e["delivery_id"]]
        for e in items
    ]
    table(f"{len(items)} event(s)", ["event", "received", "source", "type", "status", "delivery id"], rows)


@events.command("show")
@config_option
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def events_show(config_file: Path | None, event_id: str, as_json: bool) -> None:
    """One event: metadata, headers, body and the attempt history per consumer."""
    from gateway.operate import events as use_events

    settings = load(config_file)
    record = run(lambda: use_events.show(operators(settings), event_id))
    if record is None:
        fail(f"no event {event_id!r} (unknown, or expired after [retention] events_days)")
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape

    from gateway.frontends.display import pretty_body

    console = Console(emoji=False)  # a body's ":moneybag:" is text, shown as received
    for key in ("event_id", "source", "event_type", "delivery_id", "status", "received_at", "deliveries"):
        console.print(f"[bold]{key}[/bold]: {escape(str(record[key]))}")
    console.print("[bold]headers[/bold]:")
    for name, value in record["headers"]:
        console.print(f"  {escape(name)}: {escape(value)}", highlight=False)
    console.print("[bold]body[/bold]:")
    body, _ = pretty_body(record["body"])
    console.print(
        escape(body) if body is not None else f"(binary, base64) {record['body_base64']}", highlight=False
    )
    states = ", ".join(f"{name}={state}" for name, state in record["consumers"].items()) or "none"
    console.print(f"[bold]consumers[/bold]: {escape(states)}")
    rows = [[a["at"], a["consumer"], a["attempt"], a["outcome"], a.get("error")] for a in record["attempts"]]
    table("attempts", ["at", "consumer", "attempt", "outcome", "error"], rows)


@events.command("stats")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def events_stats(config_file: Path | None, as_json: bool) -> None:
    """Counts by status and source, the oldest event and the dead-letter queue's size."""
    from gateway.operate import stats

    settings = load(config_file)
    counts = run(lambda: stats.summary(operators(settings)))
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    table("by status", ["status", "events"], [[k, v] for k, v in sorted(counts["by_status"].items())])
    table("by source", ["source", "events"], [[k, v] for k, v in sorted(counts["by_source"].items())])
    click.echo(f"events {counts['events']}, oldest {counts['oldest_event_at']}")
    click.echo(f"dead letters {counts['dlq_size']}, oldest {counts['oldest_dlq_at']}")
    click.echo(f"reconciler repairs {counts['reconciler_repairs']} (0 in a healthy system)")
