"""The tree's layering, read from the imports: no package imports one that imports it back.

Top level: ``consumers`` (the SDK users import) and ``signatures`` (a standalone library) never
import ``gateway``. Inside ``gateway``, the role packages form a graph without cycles, so each role
can be read, and tested, on top of the ones below it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("gateway", "consumers", "signatures")


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _resolve(name: str) -> str | None:
    """The longest prefix of a dotted import that is one of our modules or packages."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        where = ROOT.joinpath(*parts[:end])
        if where.is_dir() or where.with_suffix(".py").is_file():
            return ".".join(parts[:end])
    return None


def _unit(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


def graph(depth: int) -> dict[str, set[str]]:
    """Edges between packages cut at ``depth`` dotted parts (1: top level, 2: gateway's roles)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for top in TOP:
        for path in (ROOT / top).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if module.count(".") < depth:  # a package's own __init__ or a top-level module: not a unit
                continue
            source = _unit(module, depth)
            for name in _imports(path):
                if name.split(".")[0] not in TOP or (target := _resolve(name)) is None:
                    continue
                if target.count(".") + 1 >= depth and (unit := _unit(target, depth)) != source:
                    edges[source].add(unit)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of units that reach each other."""

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reachable = {unit: reach(unit) for unit in list(edges)}
    return sorted((a, b) for a in reachable for b in reachable[a] if a < b and a in reachable.get(b, ()))


def test_the_sdk_and_the_signature_library_never_import_the_gateway() -> None:
    edges = graph(1)
    assert edges["consumers"] <= set(), edges["consumers"]
    assert edges["signatures"] <= set(), edges["signatures"]


@pytest.mark.parametrize("depth", [1, 2])
def test_no_package_imports_one_that_imports_it_back(depth: int) -> None:
    assert cycles(graph(depth)) == []


def test_configuration_imports_no_runtime_code() -> None:
    assert graph(2)["gateway.config"] <= {"gateway.config"}


#: gateway's roles, bottom up, as the README's "Where things live" lists them: each imports only roles
#: before it (and ``consumers``/``signatures``).
LAYERS = ("config", "platform", "store", "record", "worker", "alerts", "operate", "ingest", "frontends")
LAYERS += ("processes", "cli")


def test_each_role_imports_only_the_roles_below_it() -> None:
    edges = graph(2)
    units = {unit for unit in edges if unit.startswith("gateway.")}
    assert units <= {f"gateway.{name}" for name in LAYERS}, "a new role package: give it its layer"
    for depth, name in enumerate(LAYERS):
        below = {f"gateway.{lower}" for lower in LAYERS[:depth]}
        above = {target for target in edges[f"gateway.{name}"] if target.startswith("gateway.")} - below
        assert not above, f"gateway.{name} imports {sorted(above)}, which sit above it"
