"""Where a value such as a delivery id lives in a delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from signatures.delivery import Delivery
from signatures.errors import ConfigurationError

__all__ = ["Locator"]


@dataclass(frozen=True, slots=True)
class Locator:
    """Where a value lives in a delivery: "header:X-Name" or "json:dotted.path"."""

    kind: Literal["header", "json"]
    path: str

    @classmethod
    def parse(cls, spec: str) -> Locator:
        """Read a spec; ConfigurationError naming it when malformed."""
        kind, sep, path = spec.partition(":") if isinstance(spec, str) else ("", "", "")
        path = path.strip()
        if not sep or not path or any(c.isspace() for c in path):
            raise ConfigurationError(
                f'bad locator {spec!r}: expected "header:<Name>" or "json:<dotted.path>"'
            )
        if kind == "header":
            return cls("header", path)
        if kind == "json":
            if "" in path.split("."):
                raise ConfigurationError(f"bad locator {spec!r}: empty segment in the JSON path")
            return cls("json", path)
        raise ConfigurationError(f'bad locator {spec!r}: the kind must be "header" or "json"')

    def find(self, delivery: Delivery) -> str | None:
        """The value as text, or None when absent, the body is not JSON, or the value is not a scalar."""
        if self.kind == "header":
            return delivery.header(self.path)
        return self.in_json(delivery.json())

    def in_json(self, value: Any) -> str | None:
        """A "json" locator's value in a body already parsed (``json.loads``), as ``find`` gives it."""
        for segment in self.path.split("."):
            if isinstance(value, dict):
                value = value.get(segment)
            elif isinstance(value, list) and segment.isdecimal() and int(segment) < len(value):
                value = value[int(segment)]
            else:
                return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        return None

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}"
