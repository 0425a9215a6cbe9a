#!/usr/bin/env python3
"""Filter evaluation: microseconds per event for a 10-clause filter on a 4 KiB GitHub push.

Prints the best of several ``timeit`` repeats for: parsing the body and checking (what one consumer with
a filter costs), checking a body parsed once for every consumer (what each further filter costs), and
checking an event the last clause declines (the reason is built too). Each event is a new ``Request``, so
the header map is built every time. ``make bench`` runs it; the target is 20 µs per event for the check,
and a miss exits 1.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.config.filtering import Request, compile_filter, parse_body  # noqa: E402

#: The shared floor's 4 KiB push (what ``tests/bench/ingest.py`` and ``bench/ratio.py`` send).
SHARED_BODY = ROOT.parent / "shared" / "bench" / "body.json"
TARGET_US = 20.0
HEADERS = [
    ("Host", "hooks.example.com"),
    ("User-Agent", "GitHub-Hookshot/a1b2c3d"),
    ("Content-Type", "application/json"),
    ("Content-Length", "4143"),
    ("Accept", "*/*"),
    ("X-GitHub-Event", "push"),
    ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    ("X-GitHub-Hook-ID", "292430182"),
    ("X-Hub-Signature-256", "sha256=" + "0" * 64),
]
#: Ten clauses, of the kinds a user writes for "pushes to main of these repositories".
FILTER = {
    "headers": {
        "x-github-event": "push",
        "content-type": {"$startsWith": "application/json"},
    },
    "body": {
        "ref": "refs/heads/main",
        "repository.full_name": {"$in": ["octo/hello", "octo/world"]},
        "repository.id": {"$gte": 1000},
        "commits.author.email": {"$endsWith": "@example.com"},
        "commits.message": {"$regex": "^commit [0-9]+"},
        "repository": {"full_name": {"$neq": "octo/private"}},
        "$not": {"ref": {"$startsWith": "refs/tags/"}},
        "deleted": {"$exist": False},
    },
}


def push_body() -> bytes:
    if SHARED_BODY.exists():
        return SHARED_BODY.read_bytes()
    from tests.bench.ingest import push_body as built

    return built()


def best_us(run: Callable[[], object], repeat: int) -> float:
    """Best of ``repeat`` timings, each about 0.2 s long, in microseconds per call."""
    timer = timeit.Timer(run)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    body = push_body()
    declined_body = body.rstrip()[:-1] + b', "deleted": true}'  # the last clause declines it
    compiled = compile_filter(FILTER)
    parsed, declined_parsed = parse_body(body), parse_body(declined_body)
    assert compiled.check(Request(body, HEADERS)).matched, "the bench filter must match the bench body"
    verdict = compiled.check(Request(declined_body, HEADERS))
    assert not verdict.matched and verdict.reason == "body.deleted: true is present ($exist: false)", verdict

    timings = {
        "parse + check": best_us(lambda: compiled.check(Request(body, HEADERS)), args.repeat),
        "check, body parsed once for all filters": best_us(
            lambda: compiled.check(Request(body, HEADERS), parsed), args.repeat
        ),
        "check, declined by the last clause": best_us(
            lambda: compiled.check(Request(declined_body, HEADERS), declined_parsed), args.repeat
        ),
        "(parse alone)": best_us(lambda: parse_body(body), args.repeat),
    }
    print(f"10-clause filter on a {len(body)}-byte GitHub push, best of {args.repeat}:")
    for label, micros in timings.items():
        print(f"  {label:<42} {micros:6.1f} µs/event")
    met = timings["check, body parsed once for all filters"] <= TARGET_US
    print(f"target ≤ {TARGET_US:.0f} µs/event for the check: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
