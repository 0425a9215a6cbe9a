"""Jinja filters for the dashboard's templates: ages and durations as people read them."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine


def install(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update({"ago": ago, "age": age, "ms": milliseconds, "clock": clock})


def _unix(moment: str | float) -> float:
    if isinstance(moment, int | float):
        return float(moment)
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def age(moment: str | float | None, now: float | None = None) -> str:
    """``3m 12s``, ``2h 5m``, ``4d 1h``: how long ago ``moment`` was."""
    if moment is None:
        return "—"
    seconds = max(0, int((time.time() if now is None else now) - _unix(moment)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def ago(moment: str | float | None, now: float | None = None) -> str:
    return "—" if moment is None else f"{age(moment, now)} ago"


def milliseconds(value: Any) -> str:
    if value is None:
        return ""
    value = float(value)
    return f"{value:.0f} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def clock(moment: float) -> str:
    """``10:42:07 UTC``."""
    return time.strftime("%H:%M:%S UTC", time.gmtime(moment))
