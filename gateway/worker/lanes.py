"""Each consumer's lane settings, resolved from where a user may set them, for the worker to announce
(and, for ordered consumers, for dispatch to find their keys: ``orderings``).

Later wins: the defaults (``max_in_flight`` half the worker's threads, breaker on with its defaults), then
the consumer's own (a ``[[forward]]`` table's keys, ``@consumer(...)``'s arguments), then
``[destinations.NAME]``. A bad value in ``@consumer(...)`` is a configuration error naming the consumer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from consumers import ConsumerConfigError, Registry
from gateway.config import BreakerSettings, LaneSettings, RateLimit, Settings, duration_seconds
from gateway.store.lanes import LaneConfig
from gateway.worker.ordering import Orderings


def lane_configs(settings: Settings, registry: Registry, *, threads: int) -> dict[str, LaneConfig]:
    """The lane of every consumer in ``registry``, for a worker of ``threads`` threads."""
    forwards = {forward.name: forward for forward in settings.forward}
    configs = {}
    for consumer in registry:
        layers: list[Mapping[str, Any]] = []
        if (forward := forwards.get(consumer.name)) is not None:
            layers.append(_given(forward))
        if consumer.lane:
            try:
                layers.append(_given(LaneSettings.model_validate(dict(consumer.lane))))
            except ValidationError as exc:
                problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ConsumerConfigError(f"consumer {consumer.name!r}: {problem}") from None
        if (destination := settings.destinations.get(consumer.name)) is not None:
            layers.append(_given(destination))
        configs[consumer.name] = replace(resolve(layers, threads=threads), source=consumer.source)
    return configs


def orderings(settings: Settings, registry: Registry) -> Orderings:
    """The ordering key of every ordered consumer in ``registry``, as its lane resolves it."""
    configs = lane_configs(settings, registry, threads=1)
    return Orderings({name: config.ordering for name, config in configs.items() if config.ordering})


def resolve(layers: list[Mapping[str, Any]], *, threads: int) -> LaneConfig:
    """One lane from its layers of settings, later ones winning."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    lane = LaneSettings.model_validate(merged)
    rate = RateLimit.parse(lane.rate_limit) if lane.rate_limit else None
    breaker = lane.breaker if isinstance(lane.breaker, BreakerSettings) else BreakerSettings()
    return LaneConfig(
        max_in_flight=lane.max_in_flight or max(1, threads // 2),
        interval_ms=rate.window_ms / rate.limit if rate else 0.0,
        rate=lane.rate_limit,
        breaker=lane.breaker is not False,
        failures=breaker.failures,
        ratio=breaker.ratio,
        window_ms=duration_seconds(breaker.window) * 1000,
        min_requests=breaker.min_requests,
        cooldown_ms=duration_seconds(breaker.cooldown) * 1000,
        max_cooldown_ms=duration_seconds(breaker.max_cooldown) * 1000,
        ordering=lane.ordering,
        on_dead=lane.on_dead,
    )


def _given(section: LaneSettings) -> dict[str, Any]:
    """The lane keys a section set explicitly."""
    return {
        name: getattr(section, name) for name in LaneSettings.model_fields if name in section.model_fields_set
    }
