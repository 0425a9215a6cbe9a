"""The operators' contexts of a web process (the admin API and the dashboard share them), built on first
use by the bootstrap for the ``web`` role: one that reads, and one that can also enqueue (its broker and
actors cost a little; reading never needs them). Neither sets Dramatiq's global broker.

The route table (``routes``, for ``route test``) is built on first use too, and is the one thing that
brings the workers' code into a web process: it imports the ``[consumers] modules`` and the forwards'
transformation modules, and runs a transformation on a request's thread (under its time limit).
"""

from __future__ import annotations

import functools
import threading

from gateway.config import Settings
from gateway.operate import Context
from gateway.operate.routing import RouteTable
from gateway.processes import bootstrap


class WebOperators:
    """``gateway.frontends.operators.Operators`` for a web process, through the bootstrap."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._routes_lock = threading.Lock()
        self._routes: RouteTable | None = None

    @functools.cached_property
    def reader(self) -> Context:
        return bootstrap.build(self._settings, "web", enqueue=False).operate

    @functools.cached_property
    def writer(self) -> Context:
        with self._lock:
            return bootstrap.build(self._settings, "web").operate

    @property
    def routes(self) -> RouteTable:
        """Every consumer a worker would load (``bootstrap.build_registry``: this imports the ``[consumers]
        modules`` and the forwards' transformation modules into the web process), built once, by the first
        caller; a ``ConsumerConfigError`` is raised to every caller until a build succeeds."""
        with self._routes_lock:
            if self._routes is None:
                registry = bootstrap.build_registry(self._settings)
                self._routes = RouteTable(registry, sources=self._settings.sources)
            return self._routes
