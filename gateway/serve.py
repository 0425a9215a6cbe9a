"""``hookgate serve``: the gateway on uvicorn, one or several processes."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile

import uvicorn

from gateway.settings import CONFIG_ENV, Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def create_from_env() -> object:
    """uvicorn's factory for ``--workers N``: each process builds its app from the same config file."""
    from gateway import logs
    from gateway.app import create_app
    from gateway.settings import load_settings

    settings = load_settings()
    logs.configure(settings.logging.format or "json", settings.logging.level)
    app = create_app(settings)
    gc.freeze()
    return app


def run_gateway(settings: Settings, *, host: str, port: int, workers: int) -> int:
    common = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": settings.gateway.access_log,
        "server_header": False,
        "proxy_headers": False,
    }
    if workers == 1:
        from gateway.app import create_app

        app = create_app(settings)
        gc.freeze()  # start-up objects live forever: keep them out of every later collection's scan
        uvicorn.run(app, **common)  # type: ignore[arg-type]
        return 0
    # Several processes: they share one config file and one Prometheus multiprocess directory.
    if settings.config_path is not None:
        os.environ[CONFIG_ENV] = str(settings.config_path.resolve())
    if settings.redis.url:
        os.environ["HOOKGATE_REDIS__URL"] = settings.redis.url
    made_dir = None
    if MULTIPROC_ENV not in os.environ:
        made_dir = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="hookgate-metrics-")
    try:
        uvicorn.run("gateway.serve:create_from_env", factory=True, workers=workers, **common)  # type: ignore[arg-type]
    finally:
        if made_dir:
            shutil.rmtree(made_dir, ignore_errors=True)
    return 0
