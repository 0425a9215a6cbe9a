"""Which consumers want an event: the registry routes on its source and type, then each consumer's
filter looks at its body, headers, query and path (``gateway/config/filtering``).

Filters run in ``dispatch``, before any delivery is queued, so an event a filter declines never enters its
destination's lane: it is recorded ``filtered`` for that consumer. The body is parsed once per event,
however many filters look into it, and only when one does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consumers import Consumer, ConsumerConfigError, Registry
from gateway.config.filtering import Filter, FilterError, Request, compile_filter, parse_body
from gateway.store.events import request_of

__all__ = ["Check", "Filters", "Verdicts"]

#: A consumer's filter checking an event's stored fields: None when it wants the event, else why not.
Check = Callable[[dict[str, bytes]], str | None]


@dataclass(frozen=True)
class Verdicts:
    """The consumers that want the event, and those that declined it with the clause that did."""

    wanted: list[Consumer]
    declined: list[tuple[Consumer, str]]


class Filters:
    """Every consumer's filter, compiled once; a bad ``@consumer(filter=...)`` is a configuration error
    naming the consumer (a ``[[forward]]``'s was checked with the rest of the config)."""

    def __init__(self, registry: Registry) -> None:
        self._filters: dict[str, Filter] = {}
        for consumer in registry:
            if consumer.filter is None:
                continue
            try:
                self._filters[consumer.name] = compile_filter(consumer.filter)
            except FilterError as exc:
                raise ConsumerConfigError(f"consumer {consumer.name!r}: filter.{exc}") from None

    def get(self, name: str) -> Filter | None:
        return self._filters.get(name)

    def any(self, consumers: Sequence[Consumer]) -> bool:
        """Whether any of ``consumers`` has a filter (else the event need not be read to route it)."""
        return any(consumer.name in self._filters for consumer in consumers)

    def check_for(self, consumer: Consumer) -> Check | None:
        """``consumer``'s filter as a ``Check`` of the fields an attempt's start reads (None: it has no
        filter): what dispatch's inline first attempt uses instead of reading the event first."""
        found = self._filters.get(consumer.name)
        if found is None:
            return None

        def check(fields: dict[str, bytes]) -> str | None:
            request = request_of(
                fields.get("source"), fields.get("body"), fields.get("headers"), fields.get("query")
            )
            if request is None:  # not a stored event's fields: nothing for the filter to decline
                return None
            return _declined(found, request, parse_body(request.body) if found.uses_body else None)

        return check

    def split(self, consumers: Sequence[Consumer], request: Request) -> Verdicts:
        """Each of ``consumers`` checked against ``request``, in order."""
        wanted: list[Consumer] = []
        declined: list[tuple[Consumer, str]] = []
        parsed: object = None
        parsed_yet = False
        for consumer in consumers:
            found = self._filters.get(consumer.name)
            if found is None:
                wanted.append(consumer)
                continue
            if found.uses_body and not parsed_yet:
                parsed, parsed_yet = parse_body(request.body), True
            reason = _declined(found, request, parsed)
            if reason is None:
                wanted.append(consumer)
            else:
                declined.append((consumer, reason))
        return Verdicts(wanted, declined)


def _declined(found: Filter, request: Request, parsed: object) -> str | None:
    """None when ``found`` matches ``request`` (its body ``parsed`` once, for filters that look into it),
    else the clause that declined it."""
    verdict = found.check(request, parsed) if found.uses_body else found.check(request)
    return None if verdict.matched else (verdict.reason or "declined by its filter")
