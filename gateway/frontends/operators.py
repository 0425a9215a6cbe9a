"""What the admin API and the dashboard work through: an operators' context that reads, and one that can
also enqueue. The web process provides them (``gateway.processes.operators``); tests may pass their own."""

from __future__ import annotations

from typing import Protocol

from gateway.operate import Context


class Operators(Protocol):
    @property
    def reader(self) -> Context: ...

    @property
    def writer(self) -> Context: ...
