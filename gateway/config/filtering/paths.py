"""The nodes that walk the event: a field, an array index, any element (Convoy's ``$``), a dotted key
(the literal key first, then the path it spells), and the filter's own shapes, ``{}`` and an array."""

from __future__ import annotations

from typing import Any

from gateway.config.filtering.match import MISSING, Node, show

__all__ = ["AnyElement", "ContainsAll", "Dotted", "DottedNames", "Field", "Index", "IsObject"]


class Field(Node):
    """``key`` of an object (of an array: of any of its objects); anything else has no such key."""

    __slots__ = ("key", "sub")

    def __init__(self, loc: str, key: str, sub: Node) -> None:
        super().__init__(loc)
        self.key, self.sub = key, sub

    def test(self, value: Any) -> bool:
        if type(value) is dict:
            return self.sub.test(value.get(self.key, MISSING))
        if type(value) is list and value:
            return any(map(self.element, value))
        return self.sub.test(MISSING)

    def element(self, value: Any) -> bool:
        return self.sub.test(value.get(self.key, MISSING) if type(value) is dict else MISSING)

    def why(self, value: Any) -> str:
        if type(value) is dict:
            return self.sub.why(value.get(self.key, MISSING))
        if type(value) is list and value:
            first = value[0]
            child = first.get(self.key, MISSING) if type(first) is dict else MISSING
            return f"{self.loc}: no element of {show(value)} matched ({self.sub.why(child)})"
        return self.sub.why(MISSING)


class Index(Node):
    """A numeric path segment: an index into an array, or that key of an object."""

    __slots__ = ("index", "key", "sub")

    def __init__(self, loc: str, key: str, sub: Node) -> None:
        super().__init__(loc)
        self.key, self.index, self.sub = key, int(key), sub

    def child(self, value: Any) -> Any:
        if type(value) is list:
            return value[self.index] if self.index < len(value) else MISSING
        if type(value) is dict:
            return value.get(self.key, MISSING)
        return MISSING

    def test(self, value: Any) -> bool:
        return self.sub.test(self.child(value))

    def why(self, value: Any) -> str:
        return self.sub.why(self.child(value))


class AnyElement(Node):
    """Convoy's ``$`` path segment: any element of an array."""

    __slots__ = ("sub",)

    def __init__(self, loc: str, sub: Node) -> None:
        super().__init__(loc)
        self.sub = sub

    def test(self, value: Any) -> bool:
        return type(value) is list and any(map(self.sub.test, value))

    def explain(self, value: Any) -> str:
        if type(value) is not list:
            return f"{show(value)} is not an array ($)"
        if not value:
            return "[] has no elements ($)"
        return f"no element of {show(value)} matched ({self.sub.why(value[0])})"


class Dotted(Node):
    """A dotted key: the key itself if the object has it, else the path it spells (``steps[0]``)."""

    __slots__ = ("key", "steps", "sub")

    def __init__(self, loc: str, key: str, sub: Node, steps: tuple[Node, ...]) -> None:
        super().__init__(loc)
        self.key, self.sub, self.steps = key, sub, steps

    def test(self, value: Any) -> bool:
        if type(value) is dict:
            found = value.get(self.key, MISSING)
            if found is not MISSING:
                return self.sub.test(found)
        return self.steps[0].test(value)

    def why(self, value: Any) -> str:
        if type(value) is dict and self.key in value:
            return self.sub.why(value[self.key])
        return self.steps[0].why(value)


class DottedNames(Dotted):
    """A dotted key of names only, walked through objects in a loop; at an array or a scalar, the step
    that reads it takes over."""

    __slots__ = ("names",)

    def __init__(self, loc: str, key: str, sub: Node, steps: tuple[Node, ...], names: list[str]) -> None:
        super().__init__(loc, key, sub, steps)
        self.names = tuple(names)

    def test(self, value: Any) -> bool:
        if type(value) is not dict:
            return self.steps[0].test(value)
        found = value.get(self.key, MISSING)
        if found is not MISSING:
            return self.sub.test(found)
        for step, name in zip(self.steps, self.names, strict=True):
            if type(value) is not dict:
                return step.test(value)
            value = value.get(name, MISSING)
        return self.sub.test(value)


class IsObject(Node):
    """``{}``: any object (or an array holding one), as in Hookdeck."""

    __slots__ = ()

    def test(self, value: Any) -> bool:
        return type(value) is dict or (type(value) is list and any(type(e) is dict for e in value))

    def explain(self, value: Any) -> str:
        return f"{show(value)} is not an object"


class ContainsAll(Node):
    """An array in the filter: each of its items matches some element of the event's array."""

    __slots__ = ("items", "spec")

    def __init__(self, loc: str, items: tuple[Node, ...], spec: list[Any]) -> None:
        super().__init__(loc)
        self.items, self.spec = items, spec

    def test(self, value: Any) -> bool:
        if type(value) is not list:
            return False
        return all(any(map(item.test, value)) for item in self.items)

    def explain(self, value: Any) -> str:
        if type(value) is not list:
            return f"{show(value)} is not an array"
        for item, spec in zip(self.items, self.spec, strict=True):
            if not any(map(item.test, value)):
                return f"{show(value)} has no element matching {show(spec)}"
        return "declined"  # not reached: explain() is only asked of a declined value
