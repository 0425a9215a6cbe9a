"""The ``hookgate`` command line, one module per command group: ``processes`` (serve, worker, dev,
migrate, check-config, send-test), ``events``, ``replay``, ``dlq``, ``issues``, ``destinations`` and
``route``.
Exit codes: 0 ok, 1 failure, 2 usage or configuration error."""

from __future__ import annotations

import click

from gateway.cli import processes
from gateway.cli.common import fail
from gateway.cli.destinations import destinations
from gateway.cli.dlq import dlq
from gateway.cli.events import events
from gateway.cli.issues import issues
from gateway.cli.replay import replay
from gateway.cli.routes import route
from gateway.config import ConfigError

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hookgate")
def main() -> None:
    """hookgate: verify, store, dedupe and enqueue incoming webhooks."""
    _prepare_metrics()


def _prepare_metrics() -> None:
    """Importing the metrics makes Prometheus's multiprocess folder ($PROMETHEUS_MULTIPROC_DIR): done
    before any command, so a folder that cannot be used is exit 2 saying why, not a traceback."""
    try:
        import gateway.platform.metrics  # noqa: F401
    except ConfigError as exc:
        fail(f"configuration error: {exc}", code=2)


for _command in [*processes.COMMANDS, events, replay, dlq, issues, destinations, route]:
    main.add_command(_command)
