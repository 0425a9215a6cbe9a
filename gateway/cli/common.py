"""What every ``hookgate`` command shares: ``--config``, loading the settings, failing with an exit code,
the operators' context, and the one mapping of an operator's unusable input (``BadRequest``) to exit 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from gateway.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:  # the operator layer is imported by the commands that use it: `--help` stays quick
    from gateway.operate import Context

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Config file (default: $HOOKGATE_CONFIG, else ./hookgate.toml).",
    )(func)


def time_option(name: str) -> Callable[[F], F]:
    return click.option(
        f"--{name}", default=None, help="RFC 3339 (no zone: UTC) or relative: 30s, 15m, 2h, 7d."
    )


def search_options(func: F) -> F:
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


def load(config_file: Path | None) -> Settings:
    try:
        return load_settings(config_file)
    except ConfigError as exc:
        fail(f"configuration error: {exc}", code=2)


def fail(message: str, *, code: int = 1) -> NoReturn:
    click.echo(f"hookgate: {message}", err=True)
    sys.exit(code)


def require_redis(settings: Settings) -> None:
    if not settings.redis.configured:
        fail(
            "no Redis configured: set [redis] url (or HOOKGATE_REDIS__URL) or sentinels and service_name "
            "(or use `hookgate dev`)",
            code=2,
        )


def record_dsn(settings: Settings) -> str:
    assert settings.record is not None
    try:
        return settings.record.dsn()
    except ValueError as exc:
        fail(f"configuration error: {exc}", code=2)


def operators(settings: Settings, *, can_enqueue: bool = False) -> Context:
    """The operators' context on the configured Redis (a ``cli`` process's parts); with
    ``can_enqueue`` it can also enqueue (replay, retry)."""
    from gateway.processes import bootstrap

    require_redis(settings)
    context = bootstrap.build(settings, "cli", enqueue=can_enqueue).operate
    click.get_current_context().call_on_close(context.close)
    return context


def run(action: Callable[[], T]) -> T:
    """Run an operation, or check what the operator typed: unusable input is exit 2 naming the option
    (the CLI's one mapping of ``BadRequest``), an unreachable Redis or record exit 1."""
    from gateway.operate import BadRequest
    from gateway.platform.connections import is_outage, is_record_outage

    try:
        return action()
    except BadRequest as exc:
        fail(exc.option(), code=2)
    except Exception as exc:
        if is_record_outage(exc):
            fail(f"cannot reach the record (PostgreSQL): {str(exc).strip().splitlines()[0]}")
        if not is_outage(exc):
            raise
        fail(f"cannot reach Redis: {exc}")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table of plain text: cells are never read as rich markup (an error message may hold ``[/]``)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    rendered = Table(*columns, title=title)
    for row in rows:
        rendered.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    Console().print(rendered)
