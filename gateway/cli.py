"""The ``hookgate`` command line. Exit codes: 0 ok, 1 failure, 2 usage or configuration error."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from gateway import logs
from gateway.settings import ConfigError, Settings, build_sources, load_settings

F = TypeVar("F", bound=Callable[..., Any])


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
    if not settings.redis.url:
        _fail("no Redis configured: set [redis] url or HOOKGATE_REDIS__URL (or use `hookgate dev`)", code=2)


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
    from gateway.serve import run_gateway

    settings = _load(config_file)
    _require_redis(settings)
    logs.configure(settings.logging.format or "json", settings.logging.level)
    sys.exit(run_gateway(settings, host=host, port=port, workers=workers))


@main.command()
@_config_option
@click.option("--processes", default=None, type=click.IntRange(min=1), help="Worker processes.")
@click.option("--threads", default=None, type=click.IntRange(min=1), help="Threads per worker process.")
def worker(config_file: Path | None, processes: int | None, threads: int | None) -> None:
    """Run the Dramatiq worker that hands stored events to consumers."""
    from consumers import ConsumerConfigError
    from gateway.worker import run_worker

    settings = _load(config_file)
    _require_redis(settings)
    logs.configure(settings.logging.format or "json", settings.logging.level)
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
    from gateway.dev import run_dev

    settings = _load(config_file)
    logs.configure(settings.logging.format or "console", settings.logging.level)
    sys.exit(run_dev(settings, config_file=config_file, host=host, port=port, redis_url=redis_url))


@main.command("check-config")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_config(config_file: Path | None, as_json: bool) -> None:
    """Validate the configuration and list its sources and consumers."""
    from gateway.checks import describe

    settings = _load(config_file)
    try:
        report = describe(settings)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", code=2)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from gateway.checks import print_report

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
    from gateway.samples import signed_sample

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


if __name__ == "__main__":
    main()
