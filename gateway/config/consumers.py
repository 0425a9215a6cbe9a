"""``[consumers]``: the Python modules whose ``@consumer`` functions the worker loads."""

from __future__ import annotations

from gateway.config.section import Section


class ConsumersSettings(Section):
    modules: tuple[str, ...] = ()
