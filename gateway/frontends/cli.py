"""The ``hookgate`` command line. Exit codes: 0 ok, 1 failure, 2 usage or configuration error."""

from __future__ import annotations

import functools
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from gateway.config.settings import ConfigError, Settings, build_sources, load_settings
from gateway.platform import logs
from gateway.store.events import STATUSES

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Config file (default: $HOOKGATE_CONFIG, else ./hookgate.toml).",
    )(func)


def _load(config_file: Path | None) -> Settings:
    try:
        return load_settings(config_file)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", code=2)


def _fail(message: str, *, code: int = 1) -> NoReturn:
    click.echo(f"hookgate: {message}", err=True)
    sys.exit(code)


def _require_redis(settings: Settings) -> None:
    if not settings.redis.configured:
        _fail(
            "no Redis configured: set [redis] url (or HOOKGATE_REDIS__URL) or sentinels and service_name "
            "(or use `hookgate dev`)",
            code=2,
        )


def _check_record(settings: Settings) -> None:
    """Refuse to start against a record whose schema this hookgate does not know (exit 2); start, with
    a warning, when PostgreSQL cannot be reached (ingest never waits for it)."""
    if settings.record is None:
        return
    from gateway.record.schema import SchemaError, check_at_start

    try:
        warning = check_at_start(_record_dsn(settings), settings.record.timeout_seconds)
    except SchemaError as exc:
        _fail(str(exc), code=2)
    if warning:
        import structlog

        structlog.get_logger("hookgate").warning(warning)


def _record_dsn(settings: Settings) -> str:
    assert settings.record is not None
    try:
        return settings.record.dsn()
    except ValueError as exc:
        _fail(f"configuration error: {exc}", code=2)


def _search_options(func: Any) -> Any:
    """``--match`` and ``--header``: payload search, which needs the record ([record])."""
    func = click.option(
        "--header",
        multiple=True,
        help="'Name: value': only events received with this header value (repeatable; needs [record]).",
    )(func)
    return click.option(
        "--match",
        default=None,
        metavar="JSON",
        help='Only events whose JSON body contains this, e.g. \'{"data":{"object":{"customer":"cus_1"}}}\' '
        "(needs [record]).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hookgate")
def main() -> None:
    """hookgate: verify, store, dedupe and enqueue incoming webhooks."""


@main.command()
@_config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Gateway processes."
)
def serve(config_file: Path | None, host: str, port: int, workers: int) -> None:
    """Run the gateway (uvicorn)."""
    from gateway.processes.serve import run_gateway

    settings = _load(config_file)
    _require_redis(settings)
    logs.configure(settings.logging.format or "json", settings.logging.level)
    _check_record(settings)
    sys.exit(run_gateway(settings, host=host, port=port, workers=workers))


@main.command()
@_config_option
@click.option("--processes", default=None, type=click.IntRange(min=1), help="Worker processes.")
@click.option("--threads", default=None, type=click.IntRange(min=1), help="Threads per worker process.")
def worker(config_file: Path | None, processes: int | None, threads: int | None) -> None:
    """Run the Dramatiq worker that hands stored events to consumers."""
    from consumers import ConsumerConfigError
    from gateway.processes.worker import run_worker

    settings = _load(config_file)
    _require_redis(settings)
    logs.configure(settings.logging.format or "json", settings.logging.level)
    _check_record(settings)
    argv = ["worker"] + (["--config", str(config_file)] if config_file else [])
    argv += ["--threads", str(threads)] if threads else []
    try:
        code = run_worker(
            settings, processes=processes or settings.worker.processes, threads=threads, argv=argv
        )
    except ConsumerConfigError as exc:
        _fail(str(exc), code=2)
    sys.exit(code)


@main.command()
@_config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--redis-url", default=None, help="Use this Redis instead of starting an embedded one.")
def dev(config_file: Path | None, host: str, port: int, redis_url: str | None) -> None:
    """Embedded redis-server, the gateway and one worker in one process tree, for a laptop."""
    from gateway.processes.dev import run_dev

    settings = _load(config_file)
    logs.configure(settings.logging.format or "console", settings.logging.level)
    sys.exit(run_dev(settings, config_file=config_file, host=host, port=port, redis_url=redis_url))


@main.command()
@_config_option
def migrate(config_file: Path | None) -> None:
    """Bring the record's schema (PostgreSQL, [record] url) up to this hookgate's version."""
    import psycopg

    from gateway.record.schema import SchemaError, current_version
    from gateway.record.schema import migrate as apply_migrations

    settings = _load(config_file)
    if settings.record is None:
        _fail("no record configured: set [record] url (or url_env, url_file) to migrate", code=2)
    dsn = _record_dsn(settings)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            applied = apply_migrations(conn)
            version = current_version(conn)
    except SchemaError as exc:
        _fail(str(exc), code=2)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _fail(f"migration failed: {first}")
    for migration in applied:
        click.echo(f"applied {migration.name}")
    click.echo(f"the record's schema is at version {version}" + ("" if applied else " (nothing to do)"))


@main.command("check-config")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_config(config_file: Path | None, as_json: bool) -> None:
    """Validate the configuration and list its sources and consumers."""
    from gateway.processes.checks import describe

    settings = _load(config_file)
    try:
        report = describe(settings)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", code=2)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from gateway.processes.checks import print_report

    print_report(report)


@main.command("send-test")
@_config_option
@click.argument("source")
@click.option(
    "--event", "event_type", default=None, help="Event type to send (default: one the provider uses)."
)
@click.option(
    "--file", "body_file", type=click.File("rb"), default=None, help="Body to send instead of a sample."
)
@click.option("--url", default=None, help="Gateway base URL.", show_default="http://127.0.0.1:8000")
def send_test(
    config_file: Path | None, source: str, event_type: str | None, body_file: Any, url: str | None
) -> None:
    """Sign a sample delivery with SOURCE's secret and post it to the gateway."""
    import httpx

    import signatures
    from gateway.operate.samples import signed_sample

    settings = _load(config_file)
    sources = build_sources(settings)
    if source not in sources:
        known = ", ".join(sorted(sources)) or "none"
        _fail(f"no source named {source!r} in the config (sources: {known})", code=2)
    delivery_id = str(uuid.uuid4())
    target = f"{(url or 'http://127.0.0.1:8000').rstrip('/')}/webhooks/{source}"
    try:
        sample = signed_sample(
            sources[source],
            target,
            event_type=event_type,
            delivery_id=delivery_id,
            body=body_file.read() if body_file is not None else None,
        )
    except signatures.SigningNotSupported as exc:
        _fail(f"cannot sign for {source!r}: {exc}", code=2)
    try:
        response = httpx.post(sample.url, content=sample.body, headers=sample.headers, timeout=10)
    except httpx.HTTPError as exc:
        _fail(f"could not reach {target}: {exc}")
    click.echo(f"POST {target} ({len(sample.body)} bytes, event {sample.event_type}, delivery {delivery_id})")
    click.echo(f"{response.status_code} {response.text}")
    sys.exit(0 if response.is_success else 1)


# Operating: events and the dead-letter queue


def _time_option(name: str) -> Callable[[F], F]:
    return click.option(
        f"--{name}", default=None, help="RFC 3339 (no zone: UTC) or relative: 30s, 15m, 2h, 7d."
    )


def _checked(build: Callable[[], T]) -> T:
    """Build from what the operator typed: unusable input is exit 2 naming the option."""
    from gateway.operate import BadRequest

    try:
        return build()
    except BadRequest as exc:
        _fail(exc.option(), code=2)


def _operations(settings: Settings, *, can_retry: bool = False) -> Any:
    """The operations service on the configured Redis; with ``can_retry`` it can also enqueue."""
    from gateway.operate import build_operations

    _require_redis(settings)
    operations = build_operations(settings, can_enqueue=can_retry)
    click.get_current_context().call_on_close(operations.close)
    return operations


def _run(action: Callable[[], Any]) -> Any:
    """Run an operation: unusable input is exit 2 naming it, an unreachable Redis exit 1."""
    from gateway.operate import BadRequest
    from gateway.platform.connections import is_outage, is_record_outage

    try:
        return action()
    except BadRequest as exc:
        _fail(exc.option(), code=2)
    except Exception as exc:
        if is_record_outage(exc):
            _fail(f"cannot reach the record (PostgreSQL): {str(exc).strip().splitlines()[0]}")
        if not is_outage(exc):
            raise
        _fail(f"cannot reach Redis: {exc}")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(table)


@main.group()
def events() -> None:
    """Stored events."""


@events.command("list")
@_config_option
@click.option("--source", default=None)
@click.option("--status", default=None, type=click.Choice(STATUSES))
@click.option("--event-type", default=None, help="Glob, e.g. 'invoice.*'.")
@click.option("--consumer", default=None, help="Only events routed to this consumer.")
@_time_option("since")
@_time_option("until")
@_search_options
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
    from gateway.operate import filters

    where = _checked(
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
    settings = _load(config_file)
    items, _ = _run(lambda: _operations(settings).list_events(where, limit=limit))
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    rows = [
        [e["event_id"], e["received_at"], e["source"], e["event_type"], e["status"], e["delivery_id"]]
        for e in items
    ]
    _table(f"{len(items)} event(s)", ["event", "received", "source", "type", "status", "delivery id"], rows)


@events.command("show")
@_config_option
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def events_show(config_file: Path | None, event_id: str, as_json: bool) -> None:
    """One event: metadata, headers, body and the attempt history per consumer."""
    settings = _load(config_file)
    record = _run(lambda: _operations(settings).get_event(event_id))
    if record is None:
        _fail(f"no event {event_id!r} (unknown, or expired after [retention] events_days)")
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    for key in ("event_id", "source", "event_type", "delivery_id", "status", "received_at", "deliveries"):
        console.print(f"[bold]{key}[/bold]: {escape(str(record[key]))}")
    console.print("[bold]headers[/bold]:")
    for name, value in record["headers"]:
        console.print(f"  {escape(name)}: {escape(value)}", highlight=False)
    console.print("[bold]body[/bold]:")
    from gateway.frontends.display import pretty_body

    body, _ = pretty_body(record["body"])
    console.print(
        escape(body) if body is not None else f"(binary, base64) {record['body_base64']}", highlight=False
    )
    states = ", ".join(f"{name}={state}" for name, state in record["consumers"].items()) or "none"
    console.print(f"[bold]consumers[/bold]: {escape(states)}")
    rows = [[a["at"], a["consumer"], a["attempt"], a["outcome"], a.get("error")] for a in record["attempts"]]
    _table("attempts", ["at", "consumer", "attempt", "outcome", "error"], rows)


@events.command("stats")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def events_stats(config_file: Path | None, as_json: bool) -> None:
    """Counts by status and source, the oldest event and the dead-letter queue's size."""
    settings = _load(config_file)
    stats = _run(lambda: _operations(settings).stats())
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    _table("by status", ["status", "events"], [[k, v] for k, v in sorted(stats["by_status"].items())])
    _table("by source", ["source", "events"], [[k, v] for k, v in sorted(stats["by_source"].items())])
    click.echo(f"events {stats['events']}, oldest {stats['oldest_event_at']}")
    click.echo(f"dead letters {stats['dlq_size']}, oldest {stats['oldest_dlq_at']}")
    click.echo(f"reconciler repairs {stats['reconciler_repairs']} (0 in a healthy system)")


def _dlq_filter(
    source: str | None, consumer: str | None, q: str | None, since: str | None, until: str | None
) -> Any:
    from gateway.operate import filters

    return _checked(
        lambda: filters.dead_letter_filter(source=source, consumer=consumer, q=q, since=since, until=until)
    )


def _dlq_filters(func: F) -> F:
    for decorator in reversed(
        [
            click.option("--source", default=None),
            click.option("--consumer", default=None),
            click.option("--q", "q", default=None, help="Text in the error."),
            _time_option("since"),
            _time_option("until"),
        ]
    ):
        func = decorator(func)
    return func


#: Asking first above this many events (the contract's threshold).
CONFIRM_ABOVE = 1000


@main.command()
@_config_option
@click.argument("event_ids", nargs=-1)
@click.option("--source", default=None)
@click.option("--status", default=None, type=click.Choice(STATUSES))
@click.option("--event-type", default=None, help="Glob, e.g. 'invoice.*'.")
@_time_option("since")
@_time_option("until")
@_search_options
@click.option("--consumer", default=None, help="Re-run only this consumer.")
@click.option("--force", is_flag=True, help="Re-run consumers that already succeeded (new idempotency key).")
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
    dry_run: bool,
    rate: float | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Re-enqueue stored events: by id, or every event matching the filters."""
    import time

    from gateway.operate import filters

    filtered = any(v is not None for v in (source, status, event_type, since, until, match)) or bool(header)
    if event_ids and filtered:
        _fail("give event ids or filters, not both", code=2)
    if not event_ids and not filtered:
        _fail("give event ids, or filters such as --source S --since 2h", code=2)
    where = _checked(
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
    settings = _load(config_file)
    operations = _run(lambda: _operations(settings, can_retry=not dry_run))

    def ids() -> Any:
        return iter(event_ids) if event_ids else (e.event_id for e in operations.iter_events(where))

    if dry_run:
        records = [r for r in (_run(functools.partial(operations.get_event, i)) for i in ids()) if r]
        slim = [
            {k: r[k] for k in ("event_id", "source", "event_type", "status", "received_at")} for r in records
        ]
        if as_json:
            click.echo(json.dumps(slim, indent=2))
        else:
            for r in slim:
                click.echo(
                    f"{r['event_id']}  {r['received_at']}  {r['source']}  {r['event_type']}  {r['status']}"
                )
            click.echo(f"would replay {len(slim)} event(s); nothing enqueued (--dry-run)")
        return
    if consumer is not None:
        _run(lambda: operations.check_consumer(consumer))
    total = len(event_ids) or _run(lambda: sum(1 for _ in ids()))
    if total > CONFIRM_ABOVE and not yes:
        if not sys.stdin.isatty():
            _fail(f"{total} events match: confirm with --yes (no terminal to ask on)", code=2)
        click.confirm(f"Replay {total} events?", abort=True)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.platform.connections import REDIS_ERRORS

    sent = 0
    started = time.monotonic()
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, transient=True) as progress:
            task = progress.add_task("replay", total=total)
            for _ in operations.replay(ids(), force=force, consumer=consumer):
                sent += 1
                progress.advance(task)
                if rate is not None:
                    time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    except KeyboardInterrupt:
        _fail(f"stopped: replayed {sent} of {total} event(s)")
    except REDIS_ERRORS as exc:
        _fail(f"cannot reach Redis after {sent} of {total} event(s): {exc}")
    skipped = total - sent
    click.echo(f"replayed {sent} event(s)" + (f"; {skipped} not found (expired?)" if skipped else ""))
    if event_ids and skipped:
        sys.exit(1)


@main.group()
def dlq() -> None:
    """The dead-letter queue."""


@dlq.command("list")
@_config_option
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
    where = _dlq_filter(source, consumer, q, since, until)
    settings = _load(config_file)
    items, _ = _run(lambda: _operations(settings).list_dead_letters(where, limit=limit))
    for item in items:
        item.pop("traceback", None)
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    rows = [
        [e["id"], e["failed_at"], e["consumer"], e["event_id"], e["event_type"], e["attempts"], e["error"]]
        for e in items
    ]
    _table(
        f"{len(items)} dead letter(s)",
        ["id", "failed", "consumer", "event", "type", "attempts", "error"],
        rows,
    )


@dlq.command("show")
@_config_option
@click.argument("entry_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def dlq_show(config_file: Path | None, entry_id: str, as_json: bool) -> None:
    """One dead letter with its traceback and attempt history."""
    settings = _load(config_file)
    record = _run(lambda: _operations(settings).get_dead_letter(entry_id))
    if record is None:
        _fail(f"no dead letter {entry_id!r}")
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    for key in ("id", "event_id", "consumer", "source", "event_type", "attempts", "failed_at", "error"):
        click.echo(f"{key}: {record[key]}")
    click.echo(record["traceback"])
    rows = [[a["at"], a["attempt"], a["outcome"], a.get("error")] for a in record["history"]]
    _table("history", ["at", "attempt", "outcome", "error"], rows)


def _each_entry(operations: Any, entry_ids: tuple[str, ...], where: Any, every: bool) -> list[str]:
    if entry_ids and every:
        _fail("give entry ids or --all with filters, not both", code=2)
    if not entry_ids and not every:
        _fail("give entry ids, or --all (with filters) for every matching entry", code=2)
    return list(entry_ids) or [entry.id for entry, _ in operations.dead_letters.iter(where)]


@dlq.command("retry")
@_config_option
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
    where = _dlq_filter(source, consumer, q, since, until)
    settings = _load(config_file)
    operations = _run(lambda: _operations(settings, can_retry=True))
    ids = _run(lambda: _each_entry(operations, entry_ids, where, every))
    missing = [i for i in ids if not _run(functools.partial(operations.dead_letters.retry, i))]
    click.echo(f"retried {len(ids) - len(missing)} dead letter(s)")
    if missing:
        _fail(f"no dead letter {', '.join(map(repr, missing))}")


@dlq.command("discard")
@_config_option
@click.argument("entry_ids", nargs=-1, required=True)
def dlq_discard(config_file: Path | None, entry_ids: tuple[str, ...]) -> None:
    """Drop dead letters (the events stay stored)."""
    settings = _load(config_file)
    operations = _run(lambda: _operations(settings))
    missing = [i for i in entry_ids if not _run(functools.partial(operations.dead_letters.discard, i))]
    click.echo(f"discarded {len(entry_ids) - len(missing)} dead letter(s)")
    if missing:
        _fail(f"no dead letter {', '.join(map(repr, missing))}")


@dlq.command("purge")
@_config_option
@_dlq_filters
@_time_option("older-than")
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
    from gateway.operate import filters

    where = _dlq_filter(source, consumer, q, since, until)
    cutoff = _checked(lambda: filters.time_arg("older_than", older_than))
    settings = _load(config_file)
    if not yes:
        if not sys.stdin.isatty():
            _fail("purge discards dead letters: confirm with --yes (no terminal to ask on)", code=2)
        click.confirm("Discard every matching dead letter?", abort=True)
    purged = _run(lambda: _operations(settings).dead_letters.purge(where, older_than=cutoff))
    click.echo(f"purged {purged} dead letter(s)")


@main.group()
def issues() -> None:
    """Failures grouped into issues (and the conditions alert rules watch)."""


@issues.command("list")
@_config_option
@click.option("--status", type=click.Choice(["open", "acknowledged", "resolved", "ignored"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def issues_list(config_file: Path | None, status: str | None, limit: int, as_json: bool) -> None:
    """Issues, the most recently seen first."""
    settings = _load(config_file)
    items, _ = _run(lambda: _operations(settings).issues.page(status=status, limit=limit))
    if as_json:
        click.echo(json.dumps([issue.record() for issue in items], indent=2))
        return
    rows = [
        [i.id, i.status, i.kind, i.title, i.count, i.dead_letters, i.record()["last_seen"]] for i in items
    ]
    _table("issues", ["id", "status", "kind", "title", "failures", "dead letters", "last seen"], rows)


@issues.command("show")
@_config_option
@click.argument("issue_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def issues_show(config_file: Path | None, issue_id: str, as_json: bool) -> None:
    """One issue: what fails, since when, how often, the last error and the events it touched."""
    settings = _load(config_file)
    operations = _operations(settings)
    issue = _run(lambda: operations.issues.get(issue_id))
    if issue is None:
        _fail(f"no issue {issue_id!r}")
    record = {**issue.record(), "events": _run(lambda: operations.issues.events(issue_id))}
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    for key, value in record.items():
        if key != "events" and value is not None:
            click.echo(f"{key}: {value}")
    click.echo("events: " + (", ".join(record["events"]) or "none"))


def _set_issue_status(config_file: Path | None, issue_ids: tuple[str, ...], status: str) -> None:
    settings = _load(config_file)
    operations = _operations(settings)
    missing = [
        i for i in issue_ids if _run(functools.partial(operations.issues.set_status, i, status)) is None
    ]
    click.echo(f"{status}: {len(issue_ids) - len(missing)} issue(s)")
    if missing:
        _fail(f"no issue {', '.join(map(repr, missing))}")


@issues.command("ack")
@_config_option
@click.argument("issue_ids", nargs=-1, required=True)
def issues_ack(config_file: Path | None, issue_ids: tuple[str, ...]) -> None:
    """Acknowledge issues: someone is on it (no more reminders)."""
    _set_issue_status(config_file, issue_ids, "acknowledged")


@issues.command("resolve")
@_config_option
@click.argument("issue_ids", nargs=-1, required=True)
def issues_resolve(config_file: Path | None, issue_ids: tuple[str, ...]) -> None:
    """Mark issues resolved (a new failure reopens them)."""
    _set_issue_status(config_file, issue_ids, "resolved")


@issues.command("ignore")
@_config_option
@click.argument("issue_ids", nargs=-1, required=True)
def issues_ignore(config_file: Path | None, issue_ids: tuple[str, ...]) -> None:
    """Ignore issues: they never notify (they are still counted)."""
    _set_issue_status(config_file, issue_ids, "ignored")


@issues.command("retry")
@_config_option
@click.argument("issue_id")
def issues_retry(config_file: Path | None, issue_id: str) -> None:
    """Retry every dead letter of the issue, each with a fresh retry budget."""
    settings = _load(config_file)
    operations = _run(lambda: _operations(settings, can_retry=True))
    if _run(lambda: operations.issues.get(issue_id)) is None:
        _fail(f"no issue {issue_id!r}")
    retried = _run(lambda: operations.issues.retry_dead_letters(issue_id))
    click.echo(f"retried {retried} dead letter(s)")
