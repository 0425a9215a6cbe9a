"""``hookgate route test``: which consumers an event reaches, why the others do not, and what a forward
would send, before deploying a filter or a transformation (nothing is sent or written)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.cli.common import config_option, fail, load, operators, run, table


@click.group()
def route() -> None:
    """Routing: what each consumer's filter and transformation make of an event."""


@route.command("test")
@config_option
@click.option("--event", "event_id", default=None, help="A stored event, by id.")
@click.option(
    "--file",
    "body_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A body to test instead (with --source, and --header for each header).",
)
@click.option("--source", default=None, help="With --file: the source it arrives on.")
@click.option("--event-type", default=None, help="With --file: its event type.")
@click.option("--header", multiple=True, help="With --file: a header, 'Name: value' (repeatable).")
@click.option("--query", default="", help="With --file: the query string it arrives with.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
def route_test(
    config_file: Path | None,
    event_id: str | None,
    body_file: Path | None,
    source: str | None,
    event_type: str | None,
    header: tuple[str, ...],
    query: str,
    as_json: bool,
) -> None:
    """For each consumer: routed or not, its filter's verdict (the first clause that declined), and the
    request a forward would send after its transformation."""
    from consumers import ConsumerConfigError
    from gateway.operate.routing import RouteTable
    from gateway.processes.bootstrap import build_registry

    if (event_id is None) == (body_file is None):
        fail("give --event ID, or --file with --source", code=2)
    settings = load(config_file)
    try:
        routes = RouteTable(build_registry(settings))
    except ConsumerConfigError as exc:
        fail(f"configuration error: {exc}", code=2)
    if body_file is not None:
        if source is None:
            fail("--file needs --source", code=2)
        if source not in settings.sources:
            fail(f"--source: no source named {source!r}", code=2)
        verdicts = run(lambda: routes.check_given(source, body_file.read_bytes(), header, event_type, query))
    else:
        assert event_id is not None
        context = operators(settings)
        found = run(lambda: routes.check_stored(context, event_id))
        if found is None:
            fail(f"no stored event {event_id!r}")
        verdicts = found
    if as_json:
        click.echo(json.dumps([verdict.record() for verdict in verdicts], indent=2))
        return
    rows = [[v.consumer, v.outcome, v.reason or ""] for v in verdicts]
    table(f"{len(verdicts)} consumer(s)", ["consumer", "outcome", "why"], rows)
    from rich.console import Console
    from rich.markup import escape

    from gateway.frontends.display import pretty_body

    console = Console(emoji=False)  # a body's ":moneybag:" is text, shown as sent
    for verdict in verdicts:
        if verdict.request is None:
            continue
        sent = verdict.request
        console.print(f"\n[bold]{escape(verdict.consumer)}[/bold]: {sent.method} {escape(sent.url)}")
        for name, value in sent.headers:
            console.print(f"  {escape(name)}: {escape(value)}", highlight=False)
        body, _ = pretty_body(sent.body)
        shown = escape(body) if body is not None else f"(binary, base64) {sent.body_base64}"
        console.print(f"  ({sent.size} bytes)\n{shown}", highlight=False)
