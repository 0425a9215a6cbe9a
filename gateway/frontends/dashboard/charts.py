"""The overview's events-per-minute chart as plain SVG geometry: drawn on the server, no chart script."""

from __future__ import annotations

import time
from dataclasses import dataclass

#: CSS classes ``series-0`` … ``series-7`` colour the sources, in order, cycling beyond eight.
PALETTE_SIZE = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class StackedBars:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    legend: list[tuple[str, int, int]]  # source, series class, total
    peak: int
    total: int


def stacked_bars(
    starts: list[float], per_source: dict[str, list[int]], *, width: int = 1000, height: int = 150
) -> StackedBars:
    """One column per minute, its sources stacked in legend order; the tallest column fills the height."""
    names = list(per_source)
    columns = [sum(per_source[name][i] for name in names) for i in range(len(starts))]
    peak = max(columns, default=0)
    slot = width / max(len(starts), 1)
    gap = min(2.0, slot / 4)
    bars: list[Bar] = []
    for i, start in enumerate(starts):
        minute = time.strftime("%H:%M", time.gmtime(start))
        top = float(height)
        for series, name in enumerate(names):
            count = per_source[name][i]
            if not count:
                continue
            h = height * count / peak
            top -= h
            title = f"{name} {minute} UTC: {count} event{'s' if count != 1 else ''}"
            bars.append(
                Bar(
                    round(i * slot + gap / 2, 2),
                    round(top, 2),
                    round(slot - gap, 2),
                    round(h, 2),
                    series % PALETTE_SIZE,
                    title,
                )
            )
    ticks = [
        Tick(round(i * slot, 2), time.strftime("%H:%M", time.gmtime(start)))
        for i, start in enumerate(starts)
        if int(start) % 900 == 0
    ]
    legend = [(name, index % PALETTE_SIZE, sum(per_source[name])) for index, name in enumerate(names)]
    return StackedBars(width, height, bars, ticks, legend, peak, sum(columns))
