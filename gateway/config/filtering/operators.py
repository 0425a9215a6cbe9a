"""The operators' nodes: relations to one value (``$eq $gt $in $startsWith $contains $regex $exist`` ...),
their negations (``$neq $nin $not``), and the combinators (``$and $or``, an object's keys)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from gateway.config.filtering.match import MISSING, Node, show

__all__ = [
    "Affix",
    "AllOf",
    "AnyOf",
    "Compare",
    "Contains",
    "Exist",
    "In",
    "Negated",
    "Not",
    "Regex",
    "as_number",
    "equal_to",
    "is_number",
    "same",
]

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def same(a: Any, b: Any) -> bool:
    """JSON equality: strict on types (true is not 1), but 1 is 1.0."""
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is dict:
            return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
        if ta is list:
            return len(a) == len(b) and all(map(same, a, b))
        return bool(a == b)
    return (ta is int or ta is float) and (tb is int or tb is float) and a == b


def as_number(text: str) -> int | float | None:
    if not _NUMBER.fullmatch(text):
        return None
    if text.isdigit() or (text[0] == "-" and text[1:].isdigit()):
        return int(text)
    number = float(text)
    return number if math.isfinite(number) else None


def is_number(value: object) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


class _Scalar(Node):
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
            return f"no element of {show(value)} is {self.relation()}"
        return f"{show(value)} is not {self.relation()}"

    def holds(self, value: Any) -> str:
        if type(value) is list and not self.one(value):
            return f"an element of {show(value)} is {self.relation()}"
        return f"{show(value)} is {self.relation()}"


class _Equal(_Scalar):
    __slots__ = ("expected", "text")

    def __init__(self, loc: str, expected: Any, text: bool) -> None:
        super().__init__(loc)
        self.expected = expected
        self.text = text

    def one(self, value: Any) -> bool:
        return same(value, self.expected)

    def relation(self) -> str:
        return show(self.expected)


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
        return self.text and kind is str and as_number(value) == self.expected


def equal_to(loc: str, expected: Any, text: bool) -> _Equal:
    if type(expected) is str:
        return _EqualString(loc, expected, text)
    if expected is None or type(expected) is bool:
        return _EqualConstant(loc, expected, text)
    if type(expected) is int or type(expected) is float:
        return _EqualNumber(loc, expected, text)
    return _Equal(loc, expected, text)


class Compare(_Scalar):
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
            number = as_number(value)
            return number is not None and self.function(number, self.operand)
        return False

    def relation(self) -> str:
        return f"{self.symbol} {show(self.operand)}"

    def explain(self, value: Any) -> str:
        if not self.numeric:
            comparable = type(value) is str
        else:
            comparable = is_number(value) or (
                self.text and type(value) is str and as_number(value) is not None
            )
        if type(value) is not list and not comparable:
            return f"{show(value)} does not compare with {show(self.operand)} ({self.symbol})"
        return super().explain(value)


class In(_Scalar):
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
            return self.text and bool(self.numbers) and as_number(value) in self.numbers
        if kind is int or kind is float:
            return value in self.numbers
        return any(same(value, option) for option in self.others)

    def relation(self) -> str:
        return f"in {show(self.options)}"


class Contains(Node):
    """A substring of a string; an element of an array (or a substring of one)."""

    __slots__ = ("operand",)

    def __init__(self, loc: str, operand: Any) -> None:
        super().__init__(loc)
        self.operand = operand

    def one(self, value: Any) -> bool:
        if type(value) is str and type(self.operand) is str:
            return self.operand in value
        return same(value, self.operand)

    def test(self, value: Any) -> bool:
        if type(value) is list:
            return any(map(self.one, value))
        return type(value) is str and self.one(value)

    def explain(self, value: Any) -> str:
        return f"{show(value)} does not contain {show(self.operand)}"

    def holds(self, value: Any) -> str:
        return f"{show(value)} contains {show(self.operand)}"


class Affix(_Scalar):
    __slots__ = ("affixes", "start")

    def __init__(self, loc: str, affixes: tuple[str, ...], start: bool) -> None:
        super().__init__(loc)
        self.affixes, self.start = affixes, start

    def one(self, value: Any) -> bool:
        if type(value) is not str:
            return False
        return value.startswith(self.affixes) if self.start else value.endswith(self.affixes)

    def explain(self, value: Any) -> str:
        shown = show(self.affixes[0] if len(self.affixes) == 1 else list(self.affixes))
        verb = "start" if self.start else "end"
        if type(value) is list:
            return f"no element of {show(value)} {verb}s with {shown}"
        return f"{show(value)} does not {verb} with {shown}"


class Regex(_Scalar):
    __slots__ = ("pattern",)

    def __init__(self, loc: str, pattern: re.Pattern[str]) -> None:
        super().__init__(loc)
        self.pattern = pattern

    def one(self, value: Any) -> bool:
        return type(value) is str and self.pattern.search(value) is not None

    def explain(self, value: Any) -> str:
        if type(value) is list:
            return f"no element of {show(value)} matches /{self.pattern.pattern}/"
        return f"{show(value)} does not match /{self.pattern.pattern}/"


class Exist(Node):
    __slots__ = ("want",)

    def __init__(self, loc: str, want: bool) -> None:
        super().__init__(loc)
        self.want = want

    def test(self, value: Any) -> bool:
        return (value is not MISSING) is self.want

    def explain(self, value: Any) -> str:
        return f"{show(value)} is present ($exist: false)"


class Negated(Node):
    """``$neq`` and ``$nin``: a present value the positive operator declines."""

    __slots__ = ("op", "positive")

    def __init__(self, positive: Node, op: str) -> None:
        super().__init__(positive.loc)
        self.positive, self.op = positive, op

    def test(self, value: Any) -> bool:
        return value is not MISSING and not self.positive.test(value)

    def explain(self, value: Any) -> str:
        return f"{self.positive.holds(value)} ({self.op})"


class Not(Node):
    __slots__ = ("inner", "spec")

    def __init__(self, loc: str, inner: Node, spec: Any) -> None:
        super().__init__(loc)
        self.inner, self.spec = inner, spec

    def test(self, value: Any) -> bool:
        return not self.inner.test(value)

    def why(self, value: Any) -> str:
        return f"{self.loc}: {show(value)} matches $not {show(self.spec)}"


class AllOf(Node):
    """Clauses that must all hold (an object's keys, ``$and``). An object with named fields tests each
    element of an array as a whole: one element must satisfy them all, as in Hookdeck."""

    __slots__ = ("clauses", "per_element")

    def __init__(self, loc: str, clauses: tuple[Node, ...], per_element: bool) -> None:
        super().__init__(loc)
        self.clauses, self.per_element = clauses, per_element

    def test(self, value: Any) -> bool:
        if self.per_element and type(value) is list:
            return any(map(self.all, value)) if value else self.all(MISSING)
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
            return self.first_failure(MISSING) or f"{self.loc}: declined"
        first = self.first_failure(value[0]) or "it matched"
        return f"{self.loc}: no element of {show(value)} matched ({first})"


class AnyOf(Node):
    __slots__ = ("alternatives",)

    def __init__(self, loc: str, alternatives: tuple[Node, ...]) -> None:
        super().__init__(loc)
        self.alternatives = alternatives

    def test(self, value: Any) -> bool:
        for alternative in self.alternatives:  # noqa: SIM110 (as in AllOf.all)
            if alternative.test(value):
                return True
        return False

    def why(self, value: Any) -> str:
        reasons = [alternative.why(value) for alternative in self.alternatives[:3]]
        more = "; ..." if len(self.alternatives) > 3 else ""
        return f"{self.loc}: no $or alternative matched ({'; '.join(reasons)}{more})"
