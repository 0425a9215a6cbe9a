"""deploy/Dockerfile, read as Docker reads it: its stages and their instructions, and what the packaged
smoke test (``test_wheel.py``) and the artefact checks (``tests/deploy``) take from it."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments left out."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    )
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), " ".join(rest.split())))
    return pairs


def stages(text: str) -> list[list[tuple[str, str]]]:
    """The instructions of each stage, in order (each starts with its FROM)."""
    found: list[list[tuple[str, str]]] = []
    for word, rest in instructions(text):
        if word == "FROM":
            found.append([])
        if found:
            found[-1].append((word, rest))
    return found


@dataclass(frozen=True)
class Image:
    """What the tests take from the Dockerfile: the build stage's COPYs (sources, target), its RUNs, the
    one that builds the wheels and the folder it builds them in, the uv version it installs; the final
    stage's RUNs and environment."""

    copies: list[tuple[list[str], str]]
    build_command: str
    wheel_dir: str
    uv_version: str
    env: dict[str, str]
    build_runs: list[str]
    final_runs: list[str]


def read_image() -> Image:
    build, *_, final = stages(DOCKERFILE.read_text())
    copies = []
    for word, rest in build:
        if word == "COPY" and not rest.startswith("--"):
            *sources, target = shlex.split(rest)
            copies.append((sources, target))
    command = next(rest for word, rest in build if word == "RUN" and "deploy/build-wheels.sh" in rest)
    wheel_dir = re.search(r"deploy/build-wheels\.sh (\S+)", command).group(1)  # type: ignore[union-attr]
    uv_version = uv_pin()
    env: dict[str, str] = {}
    for word, rest in final:
        if word == "ENV":
            env |= dict(item.split("=", 1) for item in shlex.split(rest))
    runs = [[rest for word, rest in stage if word == "RUN"] for stage in (build, final)]
    return Image(copies, command, wheel_dir, uv_version, env, *runs)


def uv_pin() -> str:
    """The uv version requirements-uv.txt pins (the Makefile and the Dockerfile install that file)."""
    found = re.search(r"^uv==(\S+)", (ROOT / "requirements-uv.txt").read_text(), re.MULTILINE)
    assert found, "requirements-uv.txt pins uv"
    return found.group(1)
