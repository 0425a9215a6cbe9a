"""``hookgate issues list|show|ack|resolve|ignore|retry``: failures grouped into issues."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from gateway.cli.common import config_option, fail, load, operators, run, table


@click.group()
def issues() -> None:
    """Failures grouped into issues (and the conditions alert rules watch)."""


@issues.command("list")
@config_option
@click.option("--status", type=click.Choice(["open", "acknowledged", "resolved", "ignored"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def issues_list(config_file: Path | None, status: str | None, limit: int, as_json: bool) -> None:
    """Issues, the most recently seen first."""
    from gateway.operate import issues as use_issues

    settings = load(config_file)
    items, _ = run(lambda: use_issues.page(operators(settings), status=status, limit=limit))
    if as_json:
        click.echo(json.dumps([issue.record() for issue in items], indent=2))
        return
    rows = [
        [i.id, i.status, i.kind, i.title, i.count, i.dead_letters, i.record()["last_seen"]] for i in items
    ]
    table("issues", ["id", "status", "kind", "title", "failures", "dead letters", "last seen"], rows)


@issues.command("show")
@config_option
@click.argument("issue_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def issues_show(config_file: Path | None, issue_id: str, as_json: bool) -> None:
    """One issue: what fails, since when, how often, the last error and the events it touched."""
    from gateway.operate import issues as use_issues

    settings = load(config_file)
    record = run(lambda: use_issues.show(operators(settings), issue_id))
    if record is None:
        fail(f"no issue {issue_id!r}")
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    for key, value in record.items():
        if key != "events" and value is not None:
            click.echo(f"{key}: {value}")
    click.echo("events: " + (", ".join(record["events"]) or "none"))


def _set_status(config_file: Path | None, issue_ids: tuple[str, ...], status: str) -> None:
    from gateway.operate import issues as use_issues

    settings = load(config_file)
    context = operators(settings)
    missing = [
        i for i in issue_ids if run(functools.partial(use_issues.set_status, context, i, status)) is None
    ]
    click.echo(f"{status}: {len(issue_ids) - len(missing)} issue(s)")
    if missing:
        fail(f"no issue {', '.join(map(repr, missing))}")


@issues.command("ack")
@config_option
@click.argument("issue_ids", nargs=-1, required=True)
def issues_ack(config_file: Path | None, issue_ids: tuple[str, ...]) -> None:
    """Acknowledge issues: someone is on it (no more reminders)."""
    _set_status(config_file, issue_ids, "acknowledged")


@issues.command("resolve")
@config_option
@click.argument("issue_ids", nargs=-1, required=True)
def issues_resolve(config_file: Path | None, issue_ids: tuple[str, ...]) -> None:
    """Mark issues resolved (a new failure reopens them)."""
    _set_status(config_file, issue_ids, "resolved")


@issues.command("ignore")
@config_option
@click.argument("issue_ids", nargs=-1, required=True)
def issues_ignore(config_file: Path | None, issue_ids: tuple[str, ...]) -> None:
    """Ignore issues: they never notify (they are still counted)."""
    _set_status(config_file, issue_ids, "ignored")


@issues.command("retry")
@config_option
@click.argument("issue_id")
def issues_retry(config_file: Path | None, issue_id: str) -> None:
    """Retry every dead letter of the issue, each with a fresh retry budget."""
    from gateway.operate import issues as use_issues

    settings = load(config_file)
    context = run(lambda: operators(settings, can_enqueue=True))
    retried = run(lambda: use_issues.retry(context, issue_id))
    if retried is None:
        fail(f"no issue {issue_id!r}")
    click.echo(f"retried {retried} dead letter(s)")
