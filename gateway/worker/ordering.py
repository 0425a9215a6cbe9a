"""Ordered consumers' keys, found by dispatch in the event as stored (its body parsed once, shared with
the filters), and carried by each deliver message to the Lua step that orders it
(``gateway/store/lua/ordering.lua``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from consumers import Consumer
from gateway.config.filtering import Request
from gateway.config.ordering import parse_ordering

__all__ = ["MAX_KEY_CHARS", "Orderings"]

#: A longer key is ordered by its SHA-256 (keys live in Redis key names and in the dashboard).
MAX_KEY_CHARS = 200


class Orderings:
    """Each ordered consumer's key locator, by consumer name (checked when the config was loaded)."""

    def __init__(self, specs: Mapping[str, str] | None = None) -> None:
        self._locators = {name: parse_ordering(spec) for name, spec in (specs or {}).items()}

    def ordered(self, name: str) -> bool:
        return name in self._locators

    def any(self, consumers: Sequence[Consumer]) -> bool:
        """Whether any of ``consumers`` is ordered (else the event need not be read for keys)."""
        return any(consumer.name in self._locators for consumer in consumers)

    def key(self, name: str, request: Request) -> str | None:
        """The consumer's key for this event; None when it is not ordered or the event has no value for
        it (then the delivery is not ordered)."""
        locator = self._locators.get(name)
        if locator is None:
            return None
        value: str | None
        if locator.kind == "header":
            found = request.header_map.get(locator.path.lower())
            value = str(found[0] if isinstance(found, list) else found) if found else None
        else:
            value = locator.in_json(request.parsed_body)
        if not value:
            return None
        value = value.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate from a payload
        if len(value) > MAX_KEY_CHARS:
            return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
        return value
