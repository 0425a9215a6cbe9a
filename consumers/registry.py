"""The consumer registry: ``@consumer(source, events=[globs])`` functions and how events route to them."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from consumers.errors import ConsumerConfigError
from consumers.event import Event

Handler = Callable[[Event], object]


@dataclass(frozen=True)
class Consumer:
    """A named handler for the events of one source whose type matches one of ``events`` (all when empty).

    ``max_retries``, ``min_backoff_ms`` and ``max_backoff_ms`` override ``[retries]`` for this consumer;
    ``lane`` holds its destination settings (``max_in_flight``, ``rate_limit``, ``breaker``, ``ordering``,
    ``on_dead``), which
    ``[destinations.NAME]`` overrides; ``filter`` which of its events it wants (``gateway/config/filtering``,
    checked when a worker loads it).
    """

    name: str
    source: str
    events: tuple[str, ...]
    handler: Handler
    max_retries: int | None = None
    min_backoff_ms: int | None = None
    max_backoff_ms: int | None = None
    lane: Mapping[str, Any] = field(default_factory=dict)
    filter: Mapping[str, Any] | None = None

    def retry_options(self) -> dict[str, Any]:
        """Dramatiq message options that override the ``Retries`` middleware's defaults."""
        options = {
            "max_retries": self.max_retries,
            "min_backoff": self.min_backoff_ms,
            "max_backoff": self.max_backoff_ms,
        }
        return {key: value for key, value in options.items() if value is not None}

    def wants(self, source: str, event_type: str | None) -> bool:
        if source != self.source:
            return False
        if not self.events:
            return True
        return event_type is not None and any(fnmatchcase(event_type, pattern) for pattern in self.events)


class Registry:
    """Consumers by name; names are unique across config and code."""

    def __init__(self) -> None:
        self._consumers: dict[str, Consumer] = {}

    def add(self, consumer: Consumer) -> None:
        existing = self._consumers.get(consumer.name)
        if existing is not None and existing.handler is not consumer.handler:
            raise ConsumerConfigError(f"two consumers are named {consumer.name!r}")
        self._consumers[consumer.name] = consumer

    def routes(self, source: str, event_type: str | None) -> list[Consumer]:
        """The consumers that want this event, in name order."""
        return sorted(
            (c for c in self._consumers.values() if c.wants(source, event_type)), key=lambda c: c.name
        )

    def get(self, name: str) -> Consumer | None:
        return self._consumers.get(name)

    def __iter__(self) -> Iterator[Consumer]:
        return iter(sorted(self._consumers.values(), key=lambda c: c.name))


#: Where ``@consumer`` registers; the worker reads it after importing ``[consumers] modules``.
registry = Registry()


def consumer(
    source: str,
    *,
    events: Iterable[str] = (),
    name: str | None = None,
    max_retries: int | None = None,
    min_backoff_ms: int | None = None,
    max_backoff_ms: int | None = None,
    max_in_flight: int | None = None,
    rate_limit: str | None = None,
    breaker: bool | Mapping[str, Any] | None = None,
    filter: Mapping[str, Any] | None = None,
    ordering: str | None = None,
    on_dead: str | None = None,
) -> Callable[[Handler], Handler]:
    """Register a function as a consumer of ``source``'s events whose type matches ``events`` (globs).

    ``max_retries``, ``min_backoff_ms`` and ``max_backoff_ms`` override ``[retries]`` for this consumer.
    Its lane: ``max_in_flight`` deliveries at once across every worker, ``rate_limit`` (``"50/s"``,
    ``"600/m"``) and ``breaker`` (``False``, or ``{"failures": 5, "cooldown": "30s"}``...); the worker
    checks them when it loads the consumer, and ``[destinations.NAME]`` overrides them. ``filter``: which
    events it wants, on their body, headers, query or path (``{"body": {"ref": "refs/heads/main"}}``); an
    event it declines is recorded ``filtered`` and never reaches its lane. ``ordering``: events with the
    same key (``"body:data.object.customer"``, ``"header:X-Name"``, ``"stripe:customer"``...) are handled
    one at a time, in the order the gateway stored them; ``on_dead`` (``"hold"``, the default, or
    ``"skip"``) says whether a dead-lettered one blocks its key until an operator acts.
    """
    lane = {
        "max_in_flight": max_in_flight,
        "rate_limit": rate_limit,
        "breaker": breaker,
        "ordering": ordering,
        "on_dead": on_dead,
    }

    def register(handler: Handler) -> Handler:
        default = f"{handler.__module__}.{handler.__qualname__}"
        retry = (max_retries, min_backoff_ms, max_backoff_ms)
        given = {key: value for key, value in lane.items() if value is not None}
        registry.add(
            Consumer(name or default, source, tuple(events), handler, *retry, lane=given, filter=filter)
        )
        return handler

    return register


def load_modules(modules: Iterable[str]) -> None:
    """Import the ``[consumers] modules`` so their ``@consumer`` functions register.

    The working directory is importable, as with ``python -m`` (a console script would not see it).
    """
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConsumerConfigError(f"consumers.modules: cannot import {module!r}: {exc}") from exc
