"""The HTTP delivery a verifier inspects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["Delivery"]

_UNPARSED: Any = object()


class Delivery:
    """One HTTP delivery as the verifier sees it; header names are stored lower-cased."""

    __slots__ = ("_json", "body", "headers", "method", "url")

    def __init__(
        self, body: bytes, headers: Mapping[str, str], *, url: str = "", method: str = "POST"
    ) -> None:
        self.body = body
        self.headers: Mapping[str, str] = MappingProxyType({k.lower(): v for k, v in headers.items()})
        self.url = url
        self.method = method
        self._json: Any = _UNPARSED

    def header(self, name: str) -> str | None:
        """The header's value, looked up case-insensitively."""
        return self.headers.get(name.lower())

    def json(self) -> Any | None:
        """The parsed body, or None when it is not JSON; parsed once."""
        if self._json is _UNPARSED:
            try:
                self._json = json.loads(self.body)
            except (ValueError, RecursionError):
                self._json = None
        return self._json

    def __repr__(self) -> str:
        return f"Delivery({self.method} {self.url!r}, {len(self.body)} bytes)"
