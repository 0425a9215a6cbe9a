#!/usr/bin/env python3
"""hookgate's ingest ratio to the pipeline floor (the shared ``bench/ratio.py``: median of alternating
rounds, hookgate and the floor each on a fresh redis-server), for this checkout and for an earlier commit,
one after the other in the same session: what a change to the receive path bought.

    python tests/bench/floor_vs.py                      # against BEFORE, the commit before the speed work
    python tests/bench/floor_vs.py --against 62c110d --rounds 5

The earlier commit runs from a temporary ``git worktree`` with this checkout's virtualenv.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import floor  # noqa: E402

#: The commit before issue 23's work on the receive and worker paths.
BEFORE = "33e4114"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=BEFORE, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    reason = floor.missing()
    if reason:
        print(f"floor comparison skipped: {reason}")
        return 0
    passed_on = ["--rounds", str(args.rounds), "--seconds", str(args.seconds)]
    passed_on += ["--connections", str(args.connections)]
    env = {name: value for name, value in os.environ.items() if not name.startswith(("OTEL_", "HOOKGATE_"))}
    with tempfile.TemporaryDirectory(prefix="hookgate-floor-vs-") as tmp:
        config = Path(tmp) / "hookgate.toml"
        config.write_text(floor.CONFIG)
        earlier = Path(tmp) / "earlier"
        add = ["git", "worktree", "add", "--detach", "--quiet", str(earlier), args.against]
        subprocess.run(add, cwd=ROOT, check=True)
        try:
            print(f"this checkout ({git_head(ROOT)}):", flush=True)
            now = floor.measure(config, passed_on, env)
            serve = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
            candidate = (
                f"cd {shlex.quote(str(earlier))} && HOOKGATE_REDIS__URL={{redis_url}} exec "
                + shlex.join(serve)
                + " --host 127.0.0.1 --port {port}"
            )
            print(f"{args.against}:", flush=True)
            before = floor.measure(config, passed_on, env, candidate)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(earlier)], cwd=ROOT, check=False)
    print(f"\ningest ratio to the floor, median of {args.rounds} alternating rounds:")
    print(f"  this checkout  {now.line}   ({now.rps:.0f} req/s)")
    print(f"  {args.against:13s}  {before.line}   ({before.rps:.0f} req/s)")
    return 0


def git_head(root: Path) -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
