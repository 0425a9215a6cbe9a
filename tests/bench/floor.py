"""hookgate against the pipeline floor: runs the shared ``bench/ratio.py`` (floor and ``hookgate serve``
in alternating rounds, each on a fresh redis-server) and reads its result."""

from __future__ import annotations

import shlex
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RATIO = ROOT.parent / "shared" / "bench" / "ratio.py"
#: What ratio.py sends: signed GitHub pushes with GitHub's example secret; quiet logs.
CONFIG = """
[sources.github]
provider = "github"
secret = "It's a Secret to Everybody"

[logging]
level = "warning"
"""


@dataclass(frozen=True)
class Measured:
    line: str  # ratio.py's last line: "ratio 0.912 p99 ... floor_p99 ... errors 0"
    ratio: float
    rps: float  # hookgate's median requests per second over the rounds


def missing() -> str | None:
    """Why the floor comparison cannot run here, or None."""
    tools = [tool for tool in ("wrk", "redis-server") if shutil.which(tool) is None]
    if tools:
        return f"{' and '.join(tools)} not on PATH (apt-get install wrk redis-server)"
    if not RATIO.exists():
        return f"no {RATIO} (the shared floor benchmark)"
    return None


def measure(
    config: Path, passed_on: list[str], env: dict[str, str], candidate: str | None = None
) -> Measured:
    """Run ratio.py against ``hookgate serve --config CONFIG`` (its rounds shown as they come), or
    against ``candidate``, a shell command with ratio.py's ``{redis_url}`` and ``{port}``."""
    serve = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
    candidate = candidate or (
        "HOOKGATE_REDIS__URL={redis_url} exec " + shlex.join(serve) + " --host 127.0.0.1 --port {port}"
    )
    command = [sys.executable, str(RATIO), *passed_on, "--", "sh", "-c", candidate]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    last, rps = "", []
    for line in process.stdout:
        print("   ", line.rstrip(), flush=True)
        last = line.strip()
        words = last.split()
        if len(words) > 4 and words[0] == "round" and words[2] == "candidate":
            rps.append(float(words[4]))  # "round 1 candidate rps 2143.0 p99 ..."
    if process.wait() != 0 or not last.startswith("ratio "):
        raise SystemExit(f"ratio.py failed (exit {process.returncode})")
    return Measured(last, float(last.split()[1]), statistics.median(rps))
