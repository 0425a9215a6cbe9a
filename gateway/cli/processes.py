"""The commands that run or prepare hookgate: ``serve``, ``worker``, ``dev``, ``migrate``, ``check-config``
and ``send-test``."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import config_option, fail, load, record_dsn, require_redis
from gateway.config import ConfigError, Settings
from gateway.platform import logs


def _check_record(settings: Settings) -> None:
    """Refuse to start against a record whose schema this hookgate does not know (exit 2); start, with
    a warning, when PostgreSQL cannot be reached (ingest never waits for it)."""
    if settings.record is None:
        return
    from gateway.record.schema import SchemaError, check_at_start

    try:
        warning = check_at_start(record_dsn(settings), settings.record.timeout_seconds)
    except SchemaError as exc:
        fail(str(exc), code=2)
    if warning:
        import structlog

        structlog.get_logger("hookgate").warning(warning)


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Gateway processes."
)
def serve(config_file: Path | None, host: str, port: int, workers: int) -> None:
    """Run the gateway (uvicorn)."""
    from gateway.processes.serve import run_gateway

    settings = load(config_file)
    require_redis(settings)
    logs.configure(settings.logging.format or "json", settings.logging.level)
    _check_record(settings)
    sys.exit(run_gateway(settings, host=host, port=port, workers=workers))


@click.command()
@config_option
@click.option("--processes", default=None, type=click.IntRange(min=1), help="Worker processes.")
@click.option("--threads", default=None, type=click.IntRange(min=1), help="Threads per worker process.")
def worker(config_file: Path | None, processes: int | None, threads: int | None) -> None:
    """Run the Dramatiq worker that hands stored events to consumers."""
    from consumers import ConsumerConfigError
    from gateway.processes.worker import run_worker

    settings = load(config_file)
    require_redis(settings)
    logs.configure(settings.logging.format or "json", settings.logging.level)
    _check_record(settings)
    argv = ["worker"] + (["--config", str(config_file)] if config_file else [])
    argv += ["--threads", str(threads)] if threads else []
    try:
        code = run_worker(
            settings, processes=processes or settings.worker.processes, threads=threads, argv=argv
        )
    except ConsumerConfigError as exc:
        fail(str(exc), code=2)
    sys.exit(code)


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--redis-url", default=None, help="Use this Redis instead of starting an embedded one.")
def dev(config_file: Path | None, host: str, port: int, redis_url: str | None) -> None:
    """Embedded redis-server, the gateway and one worker in one process tree, for a laptop."""
    from gateway.processes.dev import run_dev

    settings = load(config_file)
    logs.configure(settings.logging.format or "console", settings.logging.level)
    sys.exit(run_dev(settings, config_file=config_file, host=host, port=port, redis_url=redis_url))


@click.command()
@config_option
def migrate(config_file: Path | None) -> None:
    """Bring the record's schema (PostgreSQL, [record] url) up to this hookgate's version."""
    import psycopg

    from gateway.record.schema import SchemaError, current_version
    from gateway.record.schema import migrate as apply_migrations

    settings = load(config_file)
    if settings.record is None:
        fail("no record configured: set [record] url (or url_env, url_file) to migrate", code=2)
    dsn = record_dsn(settings)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            applied = apply_migrations(conn)
            version = current_version(conn)
    except SchemaError as exc:
        fail(str(exc), code=2)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"migration failed: {first}")
    for migration in applied:
        click.echo(f"applied {migration.name}")
    click.echo(f"the record's schema is at version {version}" + ("" if applied else " (nothing to do)"))


@click.command("check-config")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_config(config_file: Path | None, as_json: bool) -> None:
    """Validate the configuration and list its sources and consumers."""
    from gateway.processes.checks import describe

    settings = load(config_file)
    if settings.record is not None:
        from gateway.record.schema import MigrationsMissing, migrations

        try:
            migrations()  # an installation without them is an error, not one more warning
        except MigrationsMissing as exc:
            fail(str(exc), code=2)
    try:
        report = describe(settings)
    except ConfigError as exc:
        fail(f"configuration error: {exc}", code=2)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from gateway.processes.checks import print_report

    print_report(report)


@click.command("send-test")
@config_option
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
    from gateway.ingest.sources import build_sources
    from gateway.operate.samples import signed_sample

    settings = load(config_file)
    sources = build_sources(settings)
    if source not in sources:
        known = ", ".join(sorted(sources)) or "none"
        fail(f"no source named {source!r} in the config (sources: {known})", code=2)
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
        fail(f"cannot sign for {source!r}: {exc}", code=2)
    try:
        response = httpx.post(sample.url, content=sample.body, headers=sample.headers, timeout=10)
    except httpx.HTTPError as exc:
        fail(f"could not reach {target}: {exc}")
    click.echo(f"POST {target} ({len(sample.body)} bytes, event {sample.event_type}, delivery {delivery_id})")
    click.echo(f"{response.status_code} {response.text}")
    sys.exit(0 if response.is_success else 1)


COMMANDS = [serve, worker, dev, migrate, check_config, send_test]
