"""What the admin API and the dashboard work through: an operators' context that reads, one that can
also enqueue, and the route table ``route test`` checks events against. The web process provides them
(``gateway.processes.operators``); tests may pass their own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from gateway.operate import Context

if TYPE_CHECKING:
    from gateway.operate.routing import RouteTable


class Operators(Protocol):
    @property
    def reader(self) -> Context: ...

    @property
    def writer(self) -> Context: ...

    @property
    def routes(self) -> RouteTable:
        """Every consumer a worker would load, for ``route test``; ``ConsumerConfigError`` when the
        configuration's consumers cannot be loaded."""
        ...
