#!/usr/bin/env python3
"""``make chaos``: each fault several times under signed load; prints sent, acked, 503s, lost, repeats
and the time to settle per run (and, for the ordered faults, the customers out of order). Exits 1 if any
acked delivery was lost or any customer's events arrived out of order."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.chaos.harness import FAULTS, run_once  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per fault")
    parser.add_argument("--rate", type=float, default=80, help="deliveries per second")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per run")
    parser.add_argument("--outage", type=float, default=6, help="seconds each fault lasts")
    parser.add_argument("--faults", default=",".join(FAULTS))
    args = parser.parse_args()
    console = Console(width=max(120, Console().width))
    table = Table(
        title=f"chaos: {args.rate:g} deliveries/s for {args.duration:g} s, {args.outage:g} s faults"
    )
    columns = ("fault", "run", "sent", "acked", "503s", "refused", "waiting", "lost", "repeats", "settle s")
    for column in (*columns, "repairs", "disorder"):
        table.add_column(column, justify="left" if column == "fault" else "right")
    failures = 0  # acked deliveries lost, and ordered customers out of order
    with tempfile.TemporaryDirectory(prefix="hookgate-chaos-") as folder:
        for fault in args.faults.split(","):
            for run in range(1, args.runs + 1):
                result = run_once(
                    fault,
                    Path(folder) / f"{fault}-{run}",
                    rate=args.rate,
                    duration=args.duration,
                    outage=args.outage,
                    seed=run,
                    log=console.log,
                )
                failures += result.lost + result.out_of_order + result.overlaps
                settle = "-" if result.settle_seconds is None else f"{result.settle_seconds:.1f}"
                table.add_row(
                    fault,
                    str(run),
                    str(result.sent),
                    str(result.acked),
                    str(result.unavailable),
                    str(result.refused),
                    str(result.waiting_at_fault),
                    str(result.lost),
                    str(result.repeats),
                    settle,
                    str(result.repairs),
                    f"{result.out_of_order}/{result.overlaps}" if fault.startswith("ordered-") else "-",
                )
                if result.lost:
                    console.log(f"lost: {result.lost_ids}")
    console.print(table)
    console.print(
        "waiting: retries waiting in Redis when the fault struck; repeats: requests to the target after an"
        " event's first 2xx (same Idempotency-Key); settle: seconds from the end of the load until every"
        " acked event had reached the target; disorder (ordered faults): customers whose events arrived out"
        " of stored order / attempts made before the customer's previous event had succeeded."
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
