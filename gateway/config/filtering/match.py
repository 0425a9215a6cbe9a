"""A compiled filter and the nodes its clauses are made of: ``Filter.check`` hands each section of the
request to its tree of nodes and returns the first reason one declined."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from gateway.config.filtering.request import NOT_JSON, Marker, Request

__all__ = ["MISSING", "Filter", "Node", "Verdict", "show"]

#: What a node tests in place of a field the event does not have.
MISSING: Final = Marker("missing")
_UNPARSED: Final = Marker("UNPARSED")


@dataclass(frozen=True)
class Verdict:
    """Whether a request matched, and if not the first clause that declined it, with the value seen."""

    matched: bool
    reason: str | None = None


_MATCHED: Final = Verdict(True)


class Filter:
    """A compiled filter; ``check`` requests against it. ``spec`` is the mapping it was compiled from."""

    __slots__ = ("_clauses", "_spec", "uses_body")
    uses_body: bool

    def __init__(self, spec: Mapping[str, Any], clauses: Sequence[tuple[str, Node]]) -> None:
        self._spec = spec
        self._clauses = tuple(clauses)
        self.uses_body = any(section == "body" for section, _ in self._clauses)

    @property
    def spec(self) -> Mapping[str, Any]:
        return self._spec

    def __repr__(self) -> str:
        return f"Filter({show(self._spec, 200)})"

    def check(self, request: Request, parsed_body: object = _UNPARSED) -> Verdict:
        """Whether ``request`` matches; ``parsed_body`` is ``parse_body(request.body)`` when the caller
        shares one parse between several filters. Never raises: what cannot be evaluated declines."""
        for section, node in self._clauses:
            try:
                if section == "body":
                    value = request.parsed_body if parsed_body is _UNPARSED else parsed_body
                    if value is NOT_JSON:
                        return Verdict(False, "body: not JSON")
                elif section == "headers":
                    value = request.header_map
                elif section == "query":
                    value = request.query_map
                else:
                    value = request.path
                declined = node.declined(value)
                if declined is not None:
                    return Verdict(False, declined)
            except Exception as error:  # a value too odd to compare declines, with what went wrong
                return Verdict(False, f"{section}: could not be evaluated ({type(error).__name__})")
        return _MATCHED


# -- nodes ---------------------------------------------------------------------------------------------
# Each node tests the value at ``loc``; ``why`` is called only on a value it declined, to say why.
# Arrays are unwrapped one level at most, so no event, however nested, makes a test recurse.


def show(value: Any, limit: int = 80) -> str:
    """``value`` as a reason shows it: as JSON, cut to ``limit`` characters."""
    if value is MISSING:
        return "missing"
    try:
        text = msgspec.json.encode(value).decode()
    except Exception:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Node:
    """One clause of a compiled filter, at ``loc``: ``test`` a value, and say ``why`` it declined."""

    __slots__ = ("loc",)

    def __init__(self, loc: str) -> None:
        self.loc = loc

    def test(self, value: Any) -> bool:
        raise NotImplementedError

    def declined(self, value: Any) -> str | None:
        """None if ``value`` matches, else why not."""
        return None if self.test(value) else self.why(value)

    def why(self, value: Any) -> str:
        if value is MISSING:
            return f"{self.loc}: missing"
        return f"{self.loc}: {self.explain(value)}"

    def explain(self, value: Any) -> str:
        """Why a present value declined."""
        return f"{show(value)} does not match"

    def holds(self, value: Any) -> str:
        """What holds of a value this node matched (for ``$neq`` and ``$nin``)."""
        return f"{show(value)} matches"
