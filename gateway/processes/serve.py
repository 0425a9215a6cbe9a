"""``hookgate serve``: the gateway on uvicorn, one or several processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator, MutableMapping
from typing import Any

import uvicorn

from gateway.config import CONFIG_ENV, Settings
from gateway.ingest.heads import BoundedHttpToolsProtocol, HeadLimits, use_limits
from gateway.platform import heap, tracing

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def create_from_env() -> object:
    """uvicorn's factory for ``--workers N``: each process builds its app from the same config file."""
    from gateway.config import load_settings
    from gateway.platform import logs
    from gateway.processes.app import create_app

    settings = load_settings()
    logs.configure(settings.logging.format or "json", settings.logging.level)
    tracing.start(settings.tracing)
    head_limits(settings)
    app = create_app(settings, run_alerts=True)
    app.on_shutdown.append(_stop_tracing)
    heap.settle()
    return app


def _stop_tracing(_: object) -> None:
    """Export the spans still waiting when the app shuts down: uvicorn then ends the process with the
    signal it caught, so nothing after ``uvicorn.run`` (nor ``atexit``) runs."""
    tracing.stop()


def head_limits(settings: Settings) -> type[BoundedHttpToolsProtocol]:
    """This process's bounds on request heads, from ``[gateway]``; the protocol for uvicorn."""
    gateway = settings.gateway
    return use_limits(HeadLimits(gateway.max_head_bytes, gateway.max_headers, gateway.head_timeout_seconds))


def run_gateway(settings: Settings, *, host: str, port: int, workers: int) -> int:
    common = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": settings.gateway.access_log,
        "server_header": False,
        "proxy_headers": False,
        "http": head_limits(settings),
    }
    if workers == 1:
        from gateway.processes.app import create_app

        tracing.start(settings.tracing)
        try:
            if settings.admin.port is not None:
                return _run_split(settings, common)
            app = create_app(settings, run_alerts=True)
            app.on_shutdown.append(_stop_tracing)
            heap.settle()  # start-up objects live forever: out of every later collection's scan
            uvicorn.run(app, **common)  # type: ignore[arg-type]
            return 0
        finally:
            tracing.stop()
    if settings.admin.port is not None:
        raise SystemExit("hookgate: [admin] port works with one gateway process; drop --workers or the port")
    # Several processes: they share one config file and one Prometheus multiprocess directory.
    if settings.config_path is not None:
        os.environ[CONFIG_ENV] = str(settings.config_path.resolve())
    # `serve --redis-url` style overrides reach the processes (sentinels are in the file).
    if settings.redis.url:
        os.environ["HOOKGATE_REDIS__URL"] = settings.redis.url
    share_session_secret(settings, os.environ)
    made_dir = None
    if MULTIPROC_ENV not in os.environ:
        made_dir = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="hookgate-metrics-")
    try:
        uvicorn.run("gateway.processes.serve:create_from_env", factory=True, workers=workers, **common)  # type: ignore[arg-type]
    finally:
        if made_dir:
            shutil.rmtree(made_dir, ignore_errors=True)
    return 0


def share_session_secret(settings: Settings, environ: MutableMapping[str, str]) -> None:
    """Without ``[admin] session_secret``, give the processes of one ``serve --workers N`` a random
    secret for this run, so each one opens the dashboard sessions the others made."""
    if settings.admin.tokens and settings.admin.session_key() is None:
        environ["HOOKGATE_ADMIN__SESSION_SECRET"] = secrets.token_urlsafe(32)


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its caller (two servers share one process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _run_split(settings: Settings, common: dict[str, Any]) -> int:
    """The public listener and the admin listener (``[admin] port``) in one process, one event loop;
    SIGINT/SIGTERM stop both gracefully."""
    from gateway.processes.app import create_app

    assert settings.admin.port is not None
    public_app = create_app(settings, part="public", install_drain=False)
    admin_app = create_app(settings, part="admin", run_alerts=True, install_drain=False)
    public = _QuietServer(uvicorn.Config(public_app, **common))
    admin_options = {**common, "host": settings.admin.host, "port": settings.admin.port}
    admin = _QuietServer(uvicorn.Config(admin_app, **admin_options))
    heap.settle()

    async def both() -> None:
        def stop() -> None:
            public.should_exit = admin.should_exit = True

        def drain_then_stop() -> None:  # SIGTERM: both listeners fail readiness, then stop
            public_app.state.drain.begin(stop)
            admin_app.state.drain.active = True

        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop)
        loop.add_signal_handler(signal.SIGTERM, drain_then_stop)
        tasks = [asyncio.create_task(server.serve()) for server in (public, admin)]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop()  # one could not start (port taken): stop the other too
        await asyncio.gather(*tasks)

    asyncio.run(both())
    return 0 if public.started and admin.started else 1
