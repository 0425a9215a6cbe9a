#!/usr/bin/env python3
"""What ``min_replica_acks = 1`` costs ingest: hookgate's ratio to the pipeline floor (shared
``bench/ratio.py``) without it, then with it against a local replica (``replicated_serve.py``), in one
run. Needs wrk and redis-server on PATH (else it says so and exits 0)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import floor  # noqa: E402


def replicated(config: Path, passed_on: list[str], env: dict[str, str]) -> floor.Measured:
    wrapper = [sys.executable, str(ROOT / "tests" / "bench" / "replicated_serve.py")]
    candidate = "exec " + shlex.join(wrapper) + " {redis_url} {port} " + shlex.quote(str(config))
    return floor.measure(config, passed_on, env, candidate)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    if reason := floor.missing():
        print(f"replica-acks bench skipped: {reason}")
        return 0
    passed_on = [f"--rounds={args.rounds}", f"--seconds={args.seconds}"]
    env = {name: value for name, value in os.environ.items() if not name.startswith("HOOKGATE_")}
    with tempfile.TemporaryDirectory(prefix="hookgate-bench-") as tmp:
        config = Path(tmp) / "hookgate.toml"
        config.write_text(floor.CONFIG)
        print("min_replica_acks = 0:", flush=True)
        plain = floor.measure(config, passed_on, env)
        print("min_replica_acks = 1, a local replica:", flush=True)
        acked = replicated(config, passed_on, env)
    print(f"\ningest ratio to the floor, min_replica_acks = 0: {plain.ratio:.3f}   ({plain.line})")
    print(f"ingest ratio to the floor, min_replica_acks = 1: {acked.ratio:.3f}   ({acked.line})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
