"""Compiling a filter: the whole spec checked once and turned into a tree of nodes; a ``FilterError``
names the first clause at fault, the way every other config error names its key."""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.config.filtering.match import Filter, Node
from gateway.config.filtering.operators import (
    Affix,
    AllOf,
    AnyOf,
    Compare,
    Contains,
    Exist,
    In,
    Negated,
    Not,
    Regex,
    equal_to,
    is_number,
)
from gateway.config.filtering.paths import (
    AnyElement,
    ContainsAll,
    Dotted,
    DottedNames,
    Field,
    Index,
    IsObject,
)

__all__ = ["FilterError", "compile_filter"]

_SECTIONS = ("body", "headers", "query", "path")


class FilterError(ValueError):
    """A filter that cannot be compiled; ``location`` is the dotted place inside it (``body.amount.$gte``)."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem


def compile_filter(spec: Mapping[str, Any]) -> Filter:
    """Check ``spec`` whole and compile it; a ``FilterError`` names the first clause at fault."""
    if not isinstance(spec, Mapping):
        raise FilterError(
            "filter", f"expected an object with body, headers, query or path, got {_kind(spec)}"
        )
    clauses: list[tuple[str, Node]] = []
    try:
        for section, sub in spec.items():
            if section not in _SECTIONS:
                raise FilterError(str(section), "unknown section (expected body, headers, query or path)")
            if isinstance(sub, Mapping) and not sub:
                continue
            clauses.append((section, _compile_section(section, sub)))
    except RecursionError:
        raise FilterError("filter", "nested too deeply") from None
    return Filter(spec, clauses)


@dataclass(frozen=True)
class _Mode:
    """Where a clause sits: what its keys mean and what the values it compares are."""

    what: str  # for messages: "a header value", "the path", ...
    text: bool = False  # values are text: a number in the filter compares with them as a number
    fields: bool = True  # keys other than operators are allowed
    names: bool = False  # keys are literal names (headers, query), not dotted paths
    lower: bool = False  # names are case-insensitive
    value: _Mode | None = None  # the mode under a name


_BODY = _Mode("the body")
_HEADERS = _Mode("headers", text=True, names=True, lower=True, value=_Mode("a header value", True, False))
_QUERY = _Mode("the query", text=True, names=True, value=_Mode("a query value", True, False))
_PATH = _Mode("the path", text=True, fields=False)


def _compile_section(section: str, spec: object) -> Node:
    if section == "body":
        return _compile_value(spec, "body", "body", _BODY)
    if section == "path":
        if isinstance(spec, Mapping) and list(spec) == ["path"]:  # Convoy's {"path": {"path": ...}}
            return _compile_value(spec["path"], "path", "path.path", _PATH)
        if not isinstance(spec, str | Mapping):
            raise FilterError("path", f"expected a string or an object of operators, got {_kind(spec)}")
        return _compile_value(spec, "path", "path", _PATH)
    if not isinstance(spec, Mapping):
        raise FilterError(section, f"expected an object of names, got {_kind(spec)}")
    return _compile_object(spec, section, section, _HEADERS if section == "headers" else _QUERY)


def _compile_value(spec: object, loc: str, where: str, mode: _Mode) -> Node:
    if isinstance(spec, Mapping):
        return _compile_object(spec, loc, where, mode)
    if isinstance(spec, list | tuple):
        if mode.names:
            raise FilterError(where, f"expected an object of names, got {_kind(spec)}")
        items = tuple(_compile_value(item, loc, f"{where}[{i}]", mode) for i, item in enumerate(spec))
        return ContainsAll(loc, items, list(spec))
    if mode.names:
        raise FilterError(where, f"expected an object of names, got {_kind(spec)}")
    return equal_to(loc, _json(spec, where), mode.text)


def _compile_object(spec: Mapping[Any, Any], loc: str, where: str, mode: _Mode) -> Node:
    clauses: list[Node] = []
    named = False
    for key, sub in spec.items():
        if not isinstance(key, str):
            raise FilterError(where, f"keys must be strings, got {_kind(key)}")
        if _is_operator(key):
            clauses.append(_compile_operator(key, sub, loc, where, mode))
        elif not mode.fields:
            raise FilterError(
                f"{where}.{key}", f"{mode.what} has no fields: compare it to a value or use an operator"
            )
        elif mode.names:
            name = key.lower() if mode.lower else key
            assert mode.value is not None
            clauses.append(
                Field(loc, name, _compile_value(sub, f"{loc}.{name}", f"{where}.{key}", mode.value))
            )
            named = True
        else:
            clause, by_name = _compile_path(key, sub, loc, where, mode)
            clauses.append(clause)
            named = named or by_name
    if not clauses:
        return IsObject(loc)
    if len(clauses) == 1:
        return clauses[0]
    return AllOf(loc, tuple(clauses), per_element=named)


def _is_operator(key: str) -> bool:
    return key.startswith("$") and key != "$" and not key.startswith("$.")


def _compile_path(key: str, spec: object, loc: str, where: str, mode: _Mode) -> tuple[Node, bool]:
    """A body key: a dotted path whose last step holds ``spec``; and whether its first step is a name."""
    segments = key.split(".")
    if not all(segments):
        raise FilterError(f"{where}.{key}", "bad path: empty segment")
    if segments[-1] == "$":
        raise FilterError(f"{where}.{key}", "bad path: it cannot end with $ (any element of what?)")
    leaf = _compile_value(spec, f"{loc}.{key}", f"{where}.{key}", mode)
    steps = [leaf]
    for i in range(len(segments) - 1, -1, -1):
        steps.insert(0, _step(".".join([loc, *segments[:i]]), segments[i], steps[0]))
    first = segments[0]
    by_name = first != "$" and not (first.isascii() and first.isdigit())
    if len(segments) == 1:
        return steps[0], by_name
    if all(isinstance(step, Field) for step in steps[:-1]):
        return DottedNames(loc, key, leaf, tuple(steps[:-1]), segments), by_name
    return Dotted(loc, key, leaf, tuple(steps[:-1])), by_name


def _step(loc: str, segment: str, sub: Node) -> Node:
    if segment == "$":
        return AnyElement(loc, sub)
    if segment.isascii() and segment.isdigit():
        return Index(loc, segment, sub)
    return Field(loc, segment, sub)


_OPERATORS = [
    *("$eq", "$neq", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$startsWith", "$endsWith"),
    *("$contains", "$regex", "$exist", "$and", "$or", "$not"),
]
_ORDER: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "$gt": (operator.gt, ">"),
    "$gte": (operator.ge, ">="),
    "$lt": (operator.lt, "<"),
    "$lte": (operator.le, "<="),
}


def _compile_operator(op: str, operand: object, loc: str, where: str, mode: _Mode) -> Node:
    at = f"{where}.{op}"
    if op in ("$eq", "$neq"):
        equal = equal_to(loc, _json(operand, at), mode.text)
        return equal if op == "$eq" else Negated(equal, op)
    if op in _ORDER:
        operand = _json(operand, at)
        if not (is_number(operand) or isinstance(operand, str)):
            raise FilterError(at, f"expected a number or a string, got {_kind(operand)}")
        function, symbol = _ORDER[op]
        return Compare(loc, function, symbol, operand, mode.text)
    if op in ("$in", "$nin"):
        found: Node
        if isinstance(operand, str):  # Hookdeck: {"$in": "text"} is "contains"
            found = Contains(loc, operand)
        elif isinstance(operand, list | tuple):
            found = In(loc, [_json(item, f"{at}[{i}]") for i, item in enumerate(operand)], mode.text)
        else:
            raise FilterError(
                at, f"expected a list of values (or a string it contains), got {_kind(operand)}"
            )
        return found if op == "$in" else Negated(found, op)
    if op in ("$startsWith", "$endsWith"):
        affixes = [operand] if isinstance(operand, str) else operand
        if (
            not isinstance(affixes, list | tuple)
            or not affixes
            or not all(isinstance(a, str) for a in affixes)
        ):
            raise FilterError(at, f"expected a string or a non-empty list of strings, got {_kind(operand)}")
        return Affix(loc, tuple(affixes), op == "$startsWith")
    if op == "$contains":
        operand = _json(operand, at)
        if not (operand is None or isinstance(operand, str | bool) or is_number(operand)):
            raise FilterError(at, f"expected a string, a number, a boolean or null, got {_kind(operand)}")
        return Contains(loc, operand)
    if op == "$regex":
        if not isinstance(operand, str):
            raise FilterError(at, f"expected a pattern (a string), got {_kind(operand)}")
        try:
            return Regex(loc, re.compile(operand))
        except re.error as error:
            raise FilterError(at, f"not a valid pattern: {error}") from None
    if op == "$exist":
        if not isinstance(operand, bool):
            raise FilterError(at, f"expected true or false, got {_kind(operand)}")
        return Exist(loc, operand)
    if op in ("$and", "$or"):
        if not isinstance(operand, list | tuple) or not operand:
            raise FilterError(at, f"expected a non-empty list of filters, got {_kind(operand)}")
        parts = []
        for i, item in enumerate(operand):
            if mode.names and not isinstance(item, Mapping):
                raise FilterError(f"{at}[{i}]", f"expected an object of names, got {_kind(item)}")
            parts.append(_compile_value(item, loc, f"{at}[{i}]", mode))
        return AnyOf(loc, tuple(parts)) if op == "$or" else AllOf(loc, tuple(parts), per_element=False)
    if op == "$not":
        if not isinstance(operand, Mapping):
            raise FilterError(at, f"expected an object, got {_kind(operand)}")
        return Not(loc, _compile_object(operand, loc, at, mode), operand)
    close = difflib.get_close_matches(op, _OPERATORS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise FilterError(at, f"unknown operator {op}{hint}")


def _json(value: object, where: str) -> object:
    """``value`` as plain JSON (dicts, lists, finite numbers; an enum member as its value), or a
    FilterError naming ``where``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError(where, f"expected a finite number, got {value}")
        return float(value)
    if isinstance(value, list | tuple):
        return [_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise FilterError(where, "keys must be strings")
        return {key: _json(item, f"{where}.{key}") for key, item in value.items()}
    raise FilterError(where, f"expected a JSON value, got {_kind(value)}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list" if value else "an empty list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"
