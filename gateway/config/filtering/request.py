"""What a filter looks at: the request as received, its headers and query as maps, its body parsed once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

import msgspec

__all__ = ["NOT_JSON", "Marker", "Request", "parse_body"]


class Marker:
    """A named sentinel: ``NOT_JSON``, and ``match``'s missing field and body not parsed yet."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: What ``parse_body`` returns for a body that is not JSON.
NOT_JSON: Final = Marker("NOT_JSON")


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
