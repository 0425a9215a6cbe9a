"""Filters: which requests a consumer wants, in the JSON syntax Hookdeck and Convoy users already write.

A filter has up to four sections, all of which must match: ``body`` (the JSON body), ``headers`` (names
case-insensitive, values case-sensitive), ``query`` (``parse_qs`` of the raw query string: one value is a
string, several a list; a repeated header likewise) and ``path`` (a string: equality, or an object of
operators; Convoy's ``{"path": "/v2/orders"}`` works too). An empty section matches everything.
``compile_filter`` checks the whole spec once (a ``FilterError`` names the clause at fault);
``Filter.check`` never raises, and names the first clause that declined and the value it saw.

Semantics follow Hookdeck's engine (github.com/hookdeck/simple-json-match) and Convoy's
(github.com/frain-dev/convoy, ``pkg/compare`` and ``pkg/flatten``):

- A value in the filter means equality, with JSON's types kept apart: ``1`` is not ``"1"``, ``true`` is
  not ``1``, ``1`` is ``1.0``. An object means a partial match (keys the event has beyond it do not
  matter); ``{}`` matches any object. Keys are paths: ``{"data.object.amount": 1}`` is
  ``{"data": {"object": {"amount": 1}}}`` (a key with dots the event has literally is tried first), a
  numeric segment indexes an array, and ``$`` is any element of one (Convoy's ``"data.$.event"``).
- An array in the event matches a value or an operator when any of its elements does (``{"tags":
  "gift"}`` matches ``["gift", "card"]``); an object clause must hold for one element as a whole. An
  array in the filter means "contains all": each of its items matches some element of the event's array
  (Hookdeck); to compare a whole array, use ``$eq``.
- Operators: ``$eq $neq`` (deep equality), ``$gt $gte $lt $lte`` (a number with a number, a string with
  a string; other pairs decline), ``$in $nin`` (a list of values; Hookdeck's string operand means
  "contains"), ``$startsWith $endsWith`` (a string, or a list of which any will do), ``$contains`` (a
  substring of a string, an element of an array), ``$regex`` (Python ``re``, found anywhere in the string
  as in Convoy), ``$exist`` (true or false), ``$and $or`` (lists of filters; under a field, plain values
  too), ``$not`` (a filter).
- A missing field declines every clause but ``$exist: false`` and ``$not``; ``$neq`` and ``$nin``
  decline it too, as in Hookdeck. A path through a missing or non-object value is missing.
- Headers, query values and the path are text: a number in the filter compares with them as a number
  (``{"x-retry-count": {"$gte": 2}}``).
- A body that is not JSON declines every filter with a ``body`` section, and only those.

Where hookgate departs from them: an operator on an array tests its elements (both test the array whole);
a body's numeric string is not a number (both coerce ``"5"`` to ``5``); a wrong operand or unknown
operator stops the config loading (both decline events instead); Convoy skips a clause on a missing
field, Hookdeck declines it, as here, except that ``$exist: false`` under a missing parent matches; an
empty section matches everything, as in Convoy; Hookdeck's ``$ref`` is not supported.

Regexes run Python's ``re`` on the sender's text: the config is trusted, the body is not, so write them
without nested quantifiers such as ``(a+)+``.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

import msgspec

__all__ = ["NOT_JSON", "Filter", "FilterError", "Request", "Verdict", "compile_filter", "parse_body"]


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: What ``parse_body`` returns for a body that is not JSON.
NOT_JSON: Final = _Marker("NOT_JSON")
_UNPARSED: Final = _Marker("UNPARSED")
_MISSING: Final = _Marker("missing")

_SECTIONS = ("body", "headers", "query", "path")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


class FilterError(ValueError):
    """A filter that cannot be compiled; ``location`` is the dotted place inside it (``body.amount.$gte``)."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem


@dataclass(frozen=True)
class Verdict:
    """Whether a request matched, and if not the first clause that declined it, with the value seen."""

    matched: bool
    reason: str | None = None


_MATCHED: Final = Verdict(True)


def parse_body(body: bytes) -> object:
    """The body as JSON, or ``NOT_JSON``; parse once and pass it to every filter's ``check``."""
    try:
        return msgspec.json.decode(body)
    except (msgspec.MsgspecError, RecursionError):
        return NOT_JSON


@dataclass(frozen=True)
class Request:
    """What a filter looks at: the request as received (headers in order, the raw query string)."""

    body: bytes
    headers: Sequence[tuple[str, str]]
    query: str = ""
    path: str = ""

    # Each view is computed on first use and kept on the instance, as functools.cached_property would
    # without the lock it takes on Python 3.11 (which cost more than a 10-clause filter's evaluation).

    @property
    def parsed_body(self) -> object:
        """The body as JSON, or ``NOT_JSON``."""
        views = self.__dict__
        if "parsed_body" not in views:
            views["parsed_body"] = parse_body(self.body)
        return views["parsed_body"]

    @property
    def header_map(self) -> dict[str, Any]:
        """Lower-cased name to value; a repeated header to the list of its values."""
        views = self.__dict__
        if "header_map" not in views:
            fields = {name.lower(): value for name, value in self.headers}
            if len(fields) < len(self.headers):
                fields = _multi((name.lower(), value) for name, value in self.headers)
            views["header_map"] = fields
        return views["header_map"]  # type: ignore[no-any-return]

    @property
    def query_map(self) -> dict[str, Any]:
        """Name to value; a repeated parameter to the list of its values."""
        views = self.__dict__
        if "query_map" not in views:
            parsed = parse_qs(self.query, keep_blank_values=True)
            views["query_map"] = {name: v[0] if len(v) == 1 else v for name, v in parsed.items()}
        return views["query_map"]  # type: ignore[no-any-return]


def _multi(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in pairs:
        seen = fields.get(name)
        if seen is None:
            fields[name] = value
        elif type(seen) is list:
            seen.append(value)
        else:
            fields[name] = [seen, value]
    return fields


class Filter:
    """A compiled filter; ``check`` requests against it. ``spec`` is the mapping it was compiled from."""

    __slots__ = ("_clauses", "_spec", "uses_body")
    uses_body: bool

    def __init__(self, spec: Mapping[str, Any], clauses: Sequence[tuple[str, _Node]]) -> None:
        self._spec = spec
        self._clauses = tuple(clauses)
        self.uses_body = any(section == "body" for section, _ in self._clauses)

    @property
    def spec(self) -> Mapping[str, Any]:
        return self._spec

    def __repr__(self) -> str:
        return f"Filter({_show(self._spec, 200)})"

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


def compile_filter(spec: Mapping[str, Any]) -> Filter:
    """Check ``spec`` whole and compile it; a ``FilterError`` names the first clause at fault."""
    if not isinstance(spec, Mapping):
        raise FilterError(
            "filter", f"expected an object with body, headers, query or path, got {_kind(spec)}"
        )
    clauses: list[tuple[str, _Node]] = []
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


# -- compiling -------------------------------------------------------------------------------------------


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


def _compile_section(section: str, spec: object) -> _Node:
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


def _compile_value(spec: object, loc: str, where: str, mode: _Mode) -> _Node:
    if isinstance(spec, Mapping):
        return _compile_object(spec, loc, where, mode)
    if isinstance(spec, list | tuple):
        if mode.names:
            raise FilterError(where, f"expected an object of names, got {_kind(spec)}")
        items = tuple(_compile_value(item, loc, f"{where}[{i}]", mode) for i, item in enumerate(spec))
        return _ContainsAll(loc, items, list(spec))
    if mode.names:
        raise FilterError(where, f"expected an object of names, got {_kind(spec)}")
    return _equal(loc, _json(spec, where), mode.text)


def _compile_object(spec: Mapping[Any, Any], loc: str, where: str, mode: _Mode) -> _Node:
    clauses: list[_Node] = []
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
                _Field(loc, name, _compile_value(sub, f"{loc}.{name}", f"{where}.{key}", mode.value))
            )
            named = True
        else:
            clause, by_name = _compile_path(key, sub, loc, where, mode)
            clauses.append(clause)
            named = named or by_name
    if not clauses:
        return _IsObject(loc)
    if len(clauses) == 1:
        return clauses[0]
    return _All(loc, tuple(clauses), per_element=named)


def _is_operator(key: str) -> bool:
    return key.startswith("$") and key != "$" and not key.startswith("$.")


def _compile_path(key: str, spec: object, loc: str, where: str, mode: _Mode) -> tuple[_Node, bool]:
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
    if all(isinstance(step, _Field) for step in steps[:-1]):
        return _DottedNames(loc, key, leaf, tuple(steps[:-1]), segments), by_name
    return _Dotted(loc, key, leaf, tuple(steps[:-1])), by_name


def _step(loc: str, segment: str, sub: _Node) -> _Node:
    if segment == "$":
        return _AnyElement(loc, sub)
    if segment.isascii() and segment.isdigit():
        return _Index(loc, segment, sub)
    return _Field(loc, segment, sub)


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


def _compile_operator(op: str, operand: object, loc: str, where: str, mode: _Mode) -> _Node:
    at = f"{where}.{op}"
    if op in ("$eq", "$neq"):
        equal = _equal(loc, _json(operand, at), mode.text)
        return equal if op == "$eq" else _Negated(equal, op)
    if op in _ORDER:
        operand = _json(operand, at)
        if not (_is_number(operand) or isinstance(operand, str)):
            raise FilterError(at, f"expected a number or a string, got {_kind(operand)}")
        function, symbol = _ORDER[op]
        return _Compare(loc, function, symbol, operand, mode.text)
    if op in ("$in", "$nin"):
        found: _Node
        if isinstance(operand, str):  # Hookdeck: {"$in": "text"} is "contains"
            found = _Contains(loc, operand)
        elif isinstance(operand, list | tuple):
            found = _In(loc, [_json(item, f"{at}[{i}]") for i, item in enumerate(operand)], mode.text)
        else:
            raise FilterError(
                at, f"expected a list of values (or a string it contains), got {_kind(operand)}"
            )
        return found if op == "$in" else _Negated(found, op)
    if op in ("$startsWith", "$endsWith"):
        affixes = [operand] if isinstance(operand, str) else operand
        if (
            not isinstance(affixes, list | tuple)
            or not affixes
            or not all(isinstance(a, str) for a in affixes)
        ):
            raise FilterError(at, f"expected a string or a non-empty list of strings, got {_kind(operand)}")
        return _Affix(loc, tuple(affixes), op == "$startsWith")
    if op == "$contains":
        operand = _json(operand, at)
        if not (operand is None or isinstance(operand, str | bool) or _is_number(operand)):
            raise FilterError(at, f"expected a string, a number, a boolean or null, got {_kind(operand)}")
        return _Contains(loc, operand)
    if op == "$regex":
        if not isinstance(operand, str):
            raise FilterError(at, f"expected a pattern (a string), got {_kind(operand)}")
        try:
            return _Regex(loc, re.compile(operand))
        except re.error as error:
            raise FilterError(at, f"not a valid pattern: {error}") from None
    if op == "$exist":
        if not isinstance(operand, bool):
            raise FilterError(at, f"expected true or false, got {_kind(operand)}")
        return _Exist(loc, operand)
    if op in ("$and", "$or"):
        if not isinstance(operand, list | tuple) or not operand:
            raise FilterError(at, f"expected a non-empty list of filters, got {_kind(operand)}")
        parts = []
        for i, item in enumerate(operand):
            if mode.names and not isinstance(item, Mapping):
                raise FilterError(f"{at}[{i}]", f"expected an object of names, got {_kind(item)}")
            parts.append(_compile_value(item, loc, f"{at}[{i}]", mode))
        return _Any(loc, tuple(parts)) if op == "$or" else _All(loc, tuple(parts), per_element=False)
    if op == "$not":
        if not isinstance(operand, Mapping):
            raise FilterError(at, f"expected an object, got {_kind(operand)}")
        return _Not(loc, _compile_object(operand, loc, at, mode), operand)
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


def _is_number(value: object) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


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


# -- matching --------------------------------------------------------------------------------------------
# Each node tests the value at ``loc``; ``why`` is called only on a value it declined, to say why.
# Arrays are unwrapped one level at most, so no event, however nested, makes a test recurse.


def _show(value: Any, limit: int = 80) -> str:
    if value is _MISSING:
        return "missing"
    try:
        text = msgspec.json.encode(value).decode()
    except Exception:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _same(a: Any, b: Any) -> bool:
    """JSON equality: strict on types (true is not 1), but 1 is 1.0."""
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is dict:
            return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
        if ta is list:
            return len(a) == len(b) and all(map(_same, a, b))
        return bool(a == b)
    return (ta is int or ta is float) and (tb is int or tb is float) and a == b


def _as_number(text: str) -> int | float | None:
    if not _NUMBER.fullmatch(text):
        return None
    if text.isdigit() or (text[0] == "-" and text[1:].isdigit()):
        return int(text)
    number = float(text)
    return number if math.isfinite(number) else None


class _Node:
    __slots__ = ("loc",)

    def __init__(self, loc: str) -> None:
        self.loc = loc

    def test(self, value: Any) -> bool:
        raise NotImplementedError

    def declined(self, value: Any) -> str | None:
        """None if ``value`` matches, else why not."""
        return None if self.test(value) else self.why(value)

    def why(self, value: Any) -> str:
        if value is _MISSING:
            return f"{self.loc}: missing"
        return f"{self.loc}: {self.explain(value)}"

    def explain(self, value: Any) -> str:
        """Why a present value declined."""
        return f"{_show(value)} does not match"

    def holds(self, value: Any) -> str:
        """What holds of a value this node matched (for ``$neq`` and ``$nin``)."""
        return f"{_show(value)} matches"


class _Scalar(_Node):
    """A relation to one value (``is "x"``, ``is >= 5``, ``is in [...]``); an array is in the relation
    when any of its elements is."""

    __slots__ = ()

    def one(self, value: Any) -> bool:
        raise NotImplementedError

    def relation(self) -> str:
        raise NotImplementedError

    def test(self, value: Any) -> bool:
        if self.one(value):
            return True
        return type(value) is list and any(map(self.one, value))

    def explain(self, value: Any) -> str:
        if type(value) is list:
            return f"no element of {_show(value)} is {self.relation()}"
        return f"{_show(value)} is not {self.relation()}"

    def holds(self, value: Any) -> str:
        if type(value) is list and not self.one(value):
            return f"an element of {_show(value)} is {self.relation()}"
        return f"{_show(value)} is {self.relation()}"


class _Equal(_Scalar):
    __slots__ = ("expected", "text")

    def __init__(self, loc: str, expected: Any, text: bool) -> None:
        super().__init__(loc)
        self.expected = expected
        self.text = text

    def one(self, value: Any) -> bool:
        return _same(value, self.expected)

    def relation(self) -> str:
        return _show(self.expected)


class _EqualString(_Equal):
    __slots__ = ()

    def one(self, value: Any) -> bool:
        return bool(value == self.expected)  # only an equal str is == a str

    def test(self, value: Any) -> bool:
        return bool(value == self.expected) or (type(value) is list and self.expected in value)


class _EqualConstant(_Equal):
    """true, false or null: the singletons."""

    __slots__ = ()

    def one(self, value: Any) -> bool:
        return value is self.expected


class _EqualNumber(_Equal):
    __slots__ = ()

    def one(self, value: Any) -> bool:
        kind = type(value)
        if kind is int or kind is float:
            return bool(value == self.expected)
        return self.text and kind is str and _as_number(value) == self.expected


def _equal(loc: str, expected: Any, text: bool) -> _Equal:
    if type(expected) is str:
        return _EqualString(loc, expected, text)
    if expected is None or type(expected) is bool:
        return _EqualConstant(loc, expected, text)
    if type(expected) is int or type(expected) is float:
        return _EqualNumber(loc, expected, text)
    return _Equal(loc, expected, text)


class _Compare(_Scalar):
    __slots__ = ("function", "numeric", "operand", "symbol", "text")

    def __init__(
        self, loc: str, function: Callable[[Any, Any], bool], symbol: str, operand: Any, text: bool
    ) -> None:
        super().__init__(loc)
        self.function, self.symbol, self.operand, self.text = function, symbol, operand, text
        self.numeric = not isinstance(operand, str)

    def one(self, value: Any) -> bool:
        kind = type(value)
        if not self.numeric:
            return kind is str and self.function(value, self.operand)
        if kind is int or kind is float:
            return self.function(value, self.operand)
        if self.text and kind is str:
            number = _as_number(value)
            return number is not None and self.function(number, self.operand)
        return False

    def relation(self) -> str:
        return f"{self.symbol} {_show(self.operand)}"

    def explain(self, value: Any) -> str:
        if not self.numeric:
            comparable = type(value) is str
        else:
            comparable = _is_number(value) or (
                self.text and type(value) is str and _as_number(value) is not None
            )
        if type(value) is not list and not comparable:
            return f"{_show(value)} does not compare with {_show(self.operand)} ({self.symbol})"
        return super().explain(value)


class _In(_Scalar):
    __slots__ = ("numbers", "options", "others", "strings", "text")

    def __init__(self, loc: str, options: list[Any], text: bool) -> None:
        super().__init__(loc)
        self.options, self.text = options, text
        self.strings = frozenset(o for o in options if type(o) is str)
        self.numbers = frozenset(o for o in options if type(o) is int or type(o) is float)
        self.others = tuple(o for o in options if type(o) not in (str, int, float))

    def one(self, value: Any) -> bool:
        kind = type(value)
        if kind is str:
            if value in self.strings:
                return True
            return self.text and bool(self.numbers) and _as_number(value) in self.numbers
        if kind is int or kind is float:
            return value in self.numbers
        return any(_same(value, option) for option in self.others)

    def relation(self) -> str:
        return f"in {_show(self.options)}"


class _Contains(_Node):
    """A substring of a string; an element of an array (or a substring of one)."""

    __slots__ = ("operand",)

    def __init__(self, loc: str, operand: Any) -> None:
        super().__init__(loc)
        self.operand = operand

    def one(self, value: Any) -> bool:
        if type(value) is str and type(self.operand) is str:
            return self.operand in value
        return _same(value, self.operand)

    def test(self, value: Any) -> bool:
        if type(value) is list:
            return any(map(self.one, value))
        return type(value) is str and self.one(value)

    def explain(self, value: Any) -> str:
        return f"{_show(value)} does not contain {_show(self.operand)}"

    def holds(self, value: Any) -> str:
        return f"{_show(value)} contains {_show(self.operand)}"


class _Affix(_Scalar):
    __slots__ = ("affixes", "start")

    def __init__(self, loc: str, affixes: tuple[str, ...], start: bool) -> None:
        super().__init__(loc)
        self.affixes, self.start = affixes, start

    def one(self, value: Any) -> bool:
        if type(value) is not str:
            return False
        return value.startswith(self.affixes) if self.start else value.endswith(self.affixes)

    def explain(self, value: Any) -> str:
        shown = _show(self.affixes[0] if len(self.affixes) == 1 else list(self.affixes))
        verb = "start" if self.start else "end"
        if type(value) is list:
            return f"no element of {_show(value)} {verb}s with {shown}"
        return f"{_show(value)} does not {verb} with {shown}"


class _Regex(_Scalar):
    __slots__ = ("pattern",)

    def __init__(self, loc: str, pattern: re.Pattern[str]) -> None:
        super().__init__(loc)
        self.pattern = pattern

    def one(self, value: Any) -> bool:
        return type(value) is str and self.pattern.search(value) is not None

    def explain(self, value: Any) -> str:
        if type(value) is list:
            return f"no element of {_show(value)} matches /{self.pattern.pattern}/"
        return f"{_show(value)} does not match /{self.pattern.pattern}/"


class _Exist(_Node):
    __slots__ = ("want",)

    def __init__(self, loc: str, want: bool) -> None:
        super().__init__(loc)
        self.want = want

    def test(self, value: Any) -> bool:
        return (value is not _MISSING) is self.want

    def explain(self, value: Any) -> str:
        return f"{_show(value)} is present ($exist: false)"


class _Negated(_Node):
    """``$neq`` and ``$nin``: a present value the positive operator declines."""

    __slots__ = ("op", "positive")

    def __init__(self, positive: _Node, op: str) -> None:
        super().__init__(positive.loc)
        self.positive, self.op = positive, op

    def test(self, value: Any) -> bool:
        return value is not _MISSING and not self.positive.test(value)

    def explain(self, value: Any) -> str:
        return f"{self.positive.holds(value)} ({self.op})"


class _Not(_Node):
    __slots__ = ("inner", "spec")

    def __init__(self, loc: str, inner: _Node, spec: Any) -> None:
        super().__init__(loc)
        self.inner, self.spec = inner, spec

    def test(self, value: Any) -> bool:
        return not self.inner.test(value)

    def why(self, value: Any) -> str:
        return f"{self.loc}: {_show(value)} matches $not {_show(self.spec)}"


class _All(_Node):
    """Clauses that must all hold (an object's keys, ``$and``). An object with named fields tests each
    element of an array as a whole: one element must satisfy them all, as in Hookdeck."""

    __slots__ = ("clauses", "per_element")

    def __init__(self, loc: str, clauses: tuple[_Node, ...], per_element: bool) -> None:
        super().__init__(loc)
        self.clauses, self.per_element = clauses, per_element

    def test(self, value: Any) -> bool:
        if self.per_element and type(value) is list:
            return any(map(self.all, value)) if value else self.all(_MISSING)
        for clause in self.clauses:  # noqa: SIM110 (as in all())
            if not clause.test(value):
                return False
        return True

    def all(self, value: Any) -> bool:
        for clause in self.clauses:  # noqa: SIM110 (a loop: all() over a generator costs twice as much here)
            if not clause.test(value):
                return False
        return True

    def declined(self, value: Any) -> str | None:
        if self.per_element and type(value) is list:
            return super().declined(value)
        return self.first_failure(value)  # one pass: the clause that declines says why

    def first_failure(self, value: Any) -> str | None:
        for clause in self.clauses:
            if not clause.test(value):
                return clause.why(value)
        return None

    def why(self, value: Any) -> str:
        if not (self.per_element and type(value) is list):
            return self.first_failure(value) or f"{self.loc}: declined"
        if not value:
            return self.first_failure(_MISSING) or f"{self.loc}: declined"
        first = self.first_failure(value[0]) or "it matched"
        return f"{self.loc}: no element of {_show(value)} matched ({first})"


class _Any(_Node):
    __slots__ = ("alternatives",)

    def __init__(self, loc: str, alternatives: tuple[_Node, ...]) -> None:
        super().__init__(loc)
        self.alternatives = alternatives

    def test(self, value: Any) -> bool:
        for alternative in self.alternatives:  # noqa: SIM110 (as in _All.all)
            if alternative.test(value):
                return True
        return False

    def why(self, value: Any) -> str:
        reasons = [alternative.why(value) for alternative in self.alternatives[:3]]
        more = "; ..." if len(self.alternatives) > 3 else ""
        return f"{self.loc}: no $or alternative matched ({'; '.join(reasons)}{more})"


class _Field(_Node):
    """``key`` of an object (of an array: of any of its objects); anything else has no such key."""

    __slots__ = ("key", "sub")

    def __init__(self, loc: str, key: str, sub: _Node) -> None:
        super().__init__(loc)
        self.key, self.sub = key, sub

    def test(self, value: Any) -> bool:
        if type(value) is dict:
            return self.sub.test(value.get(self.key, _MISSING))
        if type(value) is list and value:
            return any(map(self.element, value))
        return self.sub.test(_MISSING)

    def element(self, value: Any) -> bool:
        return self.sub.test(value.get(self.key, _MISSING) if type(value) is dict else _MISSING)

    def why(self, value: Any) -> str:
        if type(value) is dict:
            return self.sub.why(value.get(self.key, _MISSING))
        if type(value) is list and value:
            first = value[0]
            child = first.get(self.key, _MISSING) if type(first) is dict else _MISSING
            return f"{self.loc}: no element of {_show(value)} matched ({self.sub.why(child)})"
        return self.sub.why(_MISSING)


class _Index(_Node):
    """A numeric path segment: an index into an array, or that key of an object."""

    __slots__ = ("index", "key", "sub")

    def __init__(self, loc: str, key: str, sub: _Node) -> None:
        super().__init__(loc)
        self.key, self.index, self.sub = key, int(key), sub

    def child(self, value: Any) -> Any:
        if type(value) is list:
            return value[self.index] if self.index < len(value) else _MISSING
        if type(value) is dict:
            return value.get(self.key, _MISSING)
        return _MISSING

    def test(self, value: Any) -> bool:
        return self.sub.test(self.child(value))

    def why(self, value: Any) -> str:
        return self.sub.why(self.child(value))


class _AnyElement(_Node):
    """Convoy's ``$`` path segment: any element of an array."""

    __slots__ = ("sub",)

    def __init__(self, loc: str, sub: _Node) -> None:
        super().__init__(loc)
        self.sub = sub

    def test(self, value: Any) -> bool:
        return type(value) is list and any(map(self.sub.test, value))

    def explain(self, value: Any) -> str:
        if type(value) is not list:
            return f"{_show(value)} is not an array ($)"
        if not value:
            return "[] has no elements ($)"
        return f"no element of {_show(value)} matched ({self.sub.why(value[0])})"


class _Dotted(_Node):
    """A dotted key: the key itself if the object has it, else the path it spells (``steps[0]``)."""

    __slots__ = ("key", "steps", "sub")

    def __init__(self, loc: str, key: str, sub: _Node, steps: tuple[_Node, ...]) -> None:
        super().__init__(loc)
        self.key, self.sub, self.steps = key, sub, steps

    def test(self, value: Any) -> bool:
        if type(value) is dict:
            found = value.get(self.key, _MISSING)
            if found is not _MISSING:
                return self.sub.test(found)
        return self.steps[0].test(value)

    def why(self, value: Any) -> str:
        if type(value) is dict and self.key in value:
            return self.sub.why(value[self.key])
        return self.steps[0].why(value)


class _DottedNames(_Dotted):
    """A dotted key of names only, walked through objects in a loop; at an array or a scalar, the step
    that reads it takes over."""

    __slots__ = ("names",)

    def __init__(self, loc: str, key: str, sub: _Node, steps: tuple[_Node, ...], names: list[str]) -> None:
        super().__init__(loc, key, sub, steps)
        self.names = tuple(names)

    def test(self, value: Any) -> bool:
        if type(value) is not dict:
            return self.steps[0].test(value)
        found = value.get(self.key, _MISSING)
        if found is not _MISSING:
            return self.sub.test(found)
        for step, name in zip(self.steps, self.names, strict=True):
            if type(value) is not dict:
                return step.test(value)
            value = value.get(name, _MISSING)
        return self.sub.test(value)


class _IsObject(_Node):
    """``{}``: any object (or an array holding one), as in Hookdeck."""

    __slots__ = ()

    def test(self, value: Any) -> bool:
        return type(value) is dict or (type(value) is list and any(type(e) is dict for e in value))

    def explain(self, value: Any) -> str:
        return f"{_show(value)} is not an object"


class _ContainsAll(_Node):
    """An array in the filter: each of its items matches some element of the event's array."""

    __slots__ = ("items", "spec")

    def __init__(self, loc: str, items: tuple[_Node, ...], spec: list[Any]) -> None:
        super().__init__(loc)
        self.items, self.spec = items, spec

    def test(self, value: Any) -> bool:
        if type(value) is not list:
            return False
        return all(any(map(item.test, value)) for item in self.items)

    def explain(self, value: Any) -> str:
        if type(value) is not list:
            return f"{_show(value)} is not an array"
        for item, spec in zip(self.items, self.spec, strict=True):
            if not any(map(item.test, value)):
                return f"{_show(value)} has no element matching {_show(spec)}"
        return "declined"  # not reached: explain() is only asked of a declined value
