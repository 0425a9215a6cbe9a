"""``[logging]``: the level and the line format (unset: JSON under serve and worker, console under dev)."""

from __future__ import annotations

from typing import Literal

from gateway.config.section import Section


class LoggingSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] | None = None
