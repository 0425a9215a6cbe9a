"""The operators' contexts of a web process (the admin API and the dashboard share them), built on first
use by the bootstrap for the ``web`` role: one that reads, and one that can also enqueue (its broker and
actors cost a little; reading never needs them). Neither sets Dramatiq's global broker."""

from __future__ import annotations

import functools
import threading

from gateway.config import Settings
from gateway.operate import Context
from gateway.processes import bootstrap


class WebOperators:
    """``gateway.frontends.operators.Operators`` for a web process, through the bootstrap."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()

    @functools.cached_property
    def reader(self) -> Context:
        return bootstrap.build(self._settings, "web", enqueue=False).operate

    @functools.cached_property
    def writer(self) -> Context:
        with self._lock:
            return bootstrap.build(self._settings, "web").operate
