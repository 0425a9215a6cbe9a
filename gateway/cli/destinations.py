"""``hookgate destinations list|show|pause|resume|dead-letter``: every consumer's lane."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import config_option, fail, load, operators, run, table


@click.group()
def destinations() -> None:
    """Destinations: every consumer's lane, its state and what it holds."""


@destinations.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def destinations_list(config_file: Path | None, as_json: bool) -> None:
    """Every destination a worker has announced, by name."""
    from gateway.operate import destinations as use_destinations

    settings = load(config_file)
    items = run(lambda: use_destinations.list_all(operators(settings)))
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    rows = [
        [
            d["consumer"],
            d["state"],
            d["held"],
            d["blocked_keys"] if d["ordering"] else "—",
            _in_flight(d),
            d["rate_limit"] or "—",
            d["last_error"],
            d["last_failure_at"],
            d["last_success_at"],
        ]
        for d in items
    ]
    columns = [
        "destination",
        "state",
        "held",
        "blocked keys",
        "in flight",
        "rate",
        "last error",
        "last failure",
        "last success",
    ]
    table(f"{len(items)} destination(s)", columns, rows)


@destinations.command("show")
@config_option
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def destinations_show(config_file: Path | None, name: str, as_json: bool) -> None:
    """One destination: state, held and in-flight deliveries, breaker, rate and last failure; an ordered
    one's blocked keys, each with the event holding it."""
    from gateway.operate import destinations as use_destinations

    settings = load(config_file)
    _print(run(lambda: use_destinations.show(operators(settings), name)), name, as_json)


@destinations.command("pause")
@config_option
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the destination as JSON.")
def destinations_pause(config_file: Path | None, name: str, as_json: bool) -> None:
    """Hold every delivery of the destination (no retry spent) until it is resumed."""
    from gateway.operate import destinations as use_destinations

    settings = load(config_file)
    _print(run(lambda: use_destinations.pause(operators(settings), name)), name, as_json)


@destinations.command("resume")
@config_option
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the destination as JSON.")
def destinations_resume(config_file: Path | None, name: str, as_json: bool) -> None:
    """Stop holding: what is held starts, oldest first, at the destination's rate."""
    from gateway.operate import destinations as use_destinations

    settings = load(config_file)
    _print(run(lambda: use_destinations.resume(operators(settings), name)), name, as_json)


@destinations.command("dead-letter")
@config_option
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.option("--json", "as_json", is_flag=True, help='Print {"moved": n}.')
def destinations_dead_letter(config_file: Path | None, name: str, yes: bool, as_json: bool) -> None:
    """Move every delivery the destination holds to the dead-letter queue (retry them from there)."""
    from gateway.operate import destinations as use_destinations

    settings = load(config_file)
    context = run(lambda: operators(settings))
    if run(lambda: use_destinations.show(context, name)) is None:
        fail(f"no destination named {name!r}")
    if not yes:
        if not sys.stdin.isatty():
            fail("dead-letter moves held deliveries: confirm with --yes (no terminal to ask on)", code=2)
        click.confirm(f"Move every delivery {name} holds to the dead-letter queue?", abort=True)
    moved = run(lambda: use_destinations.dead_letter_held(context, name))
    if moved is None:
        fail(f"no destination named {name!r}")
    if as_json:
        click.echo(json.dumps({"moved": moved}))
        return
    click.echo(f"moved {moved} held deliver{'y' if moved == 1 else 'ies'} of {name} to the dead-letter queue")


def _in_flight(destination: dict[str, Any]) -> str:
    bound = destination["max_in_flight"]
    return f"{destination['in_flight']}/{bound if bound is not None else '—'}"


def _print(record: dict[str, Any] | None, name: str, as_json: bool) -> None:
    if record is None:
        fail(f"no destination named {name!r}")
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    for key, value in record.items():
        if key == "in_flight":
            click.echo(f"in_flight: {_in_flight(record)}")
        elif key == "blocked":
            for blocked in value:
                held_by = f"{blocked['event_id']} ({blocked['state']}) since {blocked['since']}"
                waiting = f"{blocked['waiting']} waiting behind it"
                click.echo(f"blocked key {blocked['key']!r}: held by {held_by}, {waiting}")
            if len(value) < record["blocked_keys"]:
                click.echo(f"... and {record['blocked_keys'] - len(value)} more blocked keys")
        elif key == "max_in_flight" or (key in ("blocked_keys", "parked") and not record["ordering"]):
            continue  # shown with in_flight; an unordered destination blocks and parks nothing
        elif value is not None:
            click.echo(f"{key}: {value}")
