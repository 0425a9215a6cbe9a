"""Destination lanes as Python sees them: the settings each worker announces, a lane's state for the
front ends (with an ordered lane's blocked keys), and the operator's actions (pause, resume, moving held
deliveries to the dead-letter queue).

The lane itself runs in Lua (``lua/lanes.lua``, and ``lua/ordering.lua`` for ordered ones), inside the
scripts that queue, start and settle deliveries, so deciding whether a delivery starts and recording it
are one atomic step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from gateway.store import keys
from gateway.store.dlq import dead_letter_op
from gateway.store.ledger import Ledger

#: A lane's states; ``paused`` is shown in their place while an operator holds the lane.
STATES = ("closed", "open", "half-open", "paused")


@dataclass(frozen=True)
class LaneConfig:
    """What a worker announces for one consumer's lane (``gateway.worker.lanes`` resolves it)."""

    max_in_flight: int
    interval_ms: float = 0.0  # between two starts; 0: no rate limit
    rate: str | None = None  # as configured, for people
    breaker: bool = True
    failures: int = 5
    ratio: float | None = None
    window_ms: int = 300_000
    min_requests: int = 10
    cooldown_ms: int = 30_000
    max_cooldown_ms: int = 600_000
    ordering: str | None = None  # as configured ("body:data.object.customer"): ordered per key
    on_dead: str = "hold"
    source: str = ""  # the consumer's source, whose watermark an ordered lane waits for

    @property
    def ordered(self) -> bool:
        return self.ordering is not None

    def fields(self) -> dict[Any, str | int | float]:
        return {
            "max_in_flight": self.max_in_flight,
            "interval_ms": self.interval_ms,
            "rate": self.rate or "",
            "breaker": "1" if self.breaker else "0",
            "failures_to_open": self.failures,
            "ratio": self.ratio or 0,
            "window_ms": self.window_ms,
            "min_requests": self.min_requests,
            "cooldown_ms": self.cooldown_ms,
            "max_cooldown_ms": self.max_cooldown_ms,
            "ordered": "1" if self.ordered else "0",
            "ordering": self.ordering or "",
            "on_dead": self.on_dead,
            "source": self.source,
        }


@dataclass(frozen=True)
class LaneStatus:
    """One destination as operators see it."""

    consumer: str
    state: str  # closed | open | half-open | paused
    breaker_state: str  # closed | open | half-open (also while paused)
    held: int
    in_flight: int
    max_in_flight: int | None
    rate_limit: str | None
    breaker: bool
    failures: int
    opens: int
    last_error: str | None
    last_failure_at: float | None
    last_success_at: float | None
    opened_at: float | None
    reopen_at: float | None
    paused_at: float | None
    ordering: str | None = None  # None: not ordered
    on_dead: str | None = None
    blocked_keys: int = 0  # keys whose holder failed: their later deliveries wait
    parked: int = 0  # deliveries waiting for their key's turn (not yet in the lane)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class BlockedKey:
    """A key of an ordered destination whose holder failed: the event holding it, that event's state
    for the destination (retrying, dead...), since when it blocks, and how many deliveries wait behind."""

    key: str
    event_id: str
    state: str | None
    since: float
    waiting: int


class UnknownLane(LookupError):
    """No worker has announced a consumer of that name."""


class Lanes:
    """Every consumer's lane in Redis."""

    def __init__(self, client: redis.Redis, ledger: Ledger | None = None) -> None:
        self._client = client
        self._ledger = ledger or Ledger(client)

    def announce(self, configs: dict[str, LaneConfig]) -> None:
        """Write each lane's settings (a worker at boot); a lane whose breaker is off is closed. The
        source of an ordered lane orders its events from now on; a lane no longer ordered lets what it
        parked go on."""
        with self._client.pipeline(transaction=True) as pipe:
            for name, config in configs.items():
                pipe.hset(keys.lane(name), mapping=config.fields())
                if not config.breaker:
                    pipe.hset(keys.lane(name), "state", "closed")
                pipe.sadd(keys.LANES, name)
                if config.ordered and config.source:
                    pipe.hsetnx(keys.ORDERED_SOURCES, config.source, 0)
            pipe.execute()
        unordered = [name for name, config in configs.items() if not config.ordered]
        with self._client.pipeline(transaction=False) as pipe:
            for name in unordered:
                pipe.exists(keys.ordering_keys(name))
            leftovers = [name for name, found in zip(unordered, pipe.execute(), strict=True) if found]
        if leftovers:
            self._ledger.apply([{"op": "unorder", "consumer": name} for name in leftovers])

    def names(self) -> list[str]:
        return sorted(name.decode() for name in self._client.smembers(keys.LANES))  # type: ignore[union-attr]

    def status(self, name: str) -> LaneStatus:
        if not self._client.sismember(keys.LANES, name):
            raise UnknownLane(name)
        return self.statuses([name])[0]

    def statuses(self, names: Iterable[str] | None = None) -> list[LaneStatus]:
        """Each lane's state, held and in-flight counts (one round trip for all)."""
        names = self.names() if names is None else list(names)
        with self._client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(keys.lane(name))
                pipe.zcard(keys.lane_held(name))
                pipe.zcard(keys.lane_in_flight(name))
                pipe.zcard(keys.ordering_blocked(name))
                pipe.hlen(keys.ordering_parked(name))
            replies = pipe.execute()
        found = []
        for i, name in enumerate(names):
            raw, held, in_flight, blocked, parked = replies[5 * i : 5 * i + 5]
            fields = {k.decode(): v.decode() for k, v in raw.items()}
            found.append(_status(name, fields, held, in_flight, blocked, parked))
        return found

    def blocked(self, name: str, *, limit: int = 100) -> list[BlockedKey]:
        """An ordered lane's blocked keys, longest blocked first, each with the event holding it."""
        found: list[tuple[bytes, float]] = self._client.zrange(  # type: ignore[assignment]
            keys.ordering_blocked(name), 0, limit - 1, withscores=True
        )
        blocked = [(raw.decode(), since) for raw, since in found]  # keys are text (dispatch made them)
        if not blocked:
            return []
        holders: list[bytes | None] = self._client.hmget(  # type: ignore[assignment]
            keys.ordering_holders(name), [key for key, _ in blocked]
        )
        with self._client.pipeline(transaction=False) as pipe:
            for (key, _), holder in zip(blocked, holders, strict=True):
                pipe.hget(keys.consumer_states((holder or b"-").decode()), name)
                pipe.zcard(keys.ordering_pending(name, key))
            replies = pipe.execute()
        return [
            BlockedKey(
                key=key,
                event_id=holder.decode(),
                state=state.decode() if state else None,
                since=since / 1000,
                waiting=max(int(pending) - 1, 0),
            )
            for (key, since), holder, state, pending in zip(
                blocked, holders, replies[::2], replies[1::2], strict=True
            )
            if holder is not None
        ]

    def pause(self, name: str) -> None:
        """Hold every delivery of the lane until ``resume``."""
        self.status(name)
        self._ledger.apply([{"op": "lane_pause", "consumer": name, "paused": True}])

    def resume(self, name: str) -> None:
        """Stop holding; what is held starts, oldest first, at the lane's rate."""
        self.status(name)
        self._ledger.apply([{"op": "lane_pause", "consumer": name, "paused": False}])

    def dead_letter_held(self, name: str, *, batch: int = 500) -> int:
        """Move the lane's held deliveries to the dead-letter queue (each with its event's attempts so
        far); how many moved. They can be retried from there like any dead letter."""
        self.status(name)
        moved = 0
        while True:
            ids = [i.decode() for i in self._client.zrange(keys.lane_held(name), 0, batch - 1)]  # type: ignore[union-attr]
            if not ids:
                return moved
            messages = self._client.hmget(keys.HELD_MESSAGES, ids)
            operations = []
            for message_id, message in zip(ids, messages, strict=True):
                event_id, attempts = _held_event(message)
                letter = dead_letter_op(
                    event_id,
                    name,
                    "Held",
                    f"Held: moved to the dead-letter queue by an operator while {name} held it",
                    "",
                    attempts,
                    at=time.time(),
                )
                operations.append(
                    {"op": "drop_held", "consumer": name, "id": message_id, "dead_letter": letter}
                )
            moved += sum(1 for result in self._ledger.apply(operations) if result)
            if len(ids) < batch:
                return moved


def _held_event(message: bytes | str | None) -> tuple[str, int]:
    """The event a held delivery is for, and the attempts it made."""
    try:
        decoded = json.loads(message or b"{}")
        return str(decoded["args"][0]), int(decoded.get("options", {}).get("retries", 0))
    except (ValueError, KeyError, IndexError, TypeError):
        return "", 0


def _number(fields: dict[str, str], name: str) -> float | None:
    value = fields.get(name)
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _status(
    name: str, fields: dict[str, str], held: int, in_flight: int, blocked: int = 0, parked: int = 0
) -> LaneStatus:
    breaker_state = fields.get("state") or "closed"
    ordered = fields.get("ordered") == "1"
    paused = fields.get("paused") == "1"
    max_in_flight = _number(fields, "max_in_flight")
    return LaneStatus(
        consumer=name,
        state="paused" if paused else breaker_state,
        breaker_state=breaker_state,
        held=int(held),
        in_flight=int(in_flight),
        max_in_flight=int(max_in_flight) if max_in_flight else None,
        rate_limit=fields.get("rate") or None,
        breaker=fields.get("breaker") == "1",
        failures=int(_number(fields, "failures") or 0),
        opens=int(_number(fields, "opens") or 0),
        last_error=fields.get("last_error") or None,
        last_failure_at=_seconds(_number(fields, "last_failure_at")),
        last_success_at=_seconds(_number(fields, "last_success_at")),
        opened_at=_seconds(_number(fields, "opened_at")),
        reopen_at=_seconds(_number(fields, "reopen_at")),
        paused_at=_number(fields, "paused_at") if paused else None,
        ordering=fields.get("ordering") or None if ordered else None,
        on_dead=fields.get("on_dead") or "hold" if ordered else None,
        blocked_keys=int(blocked),
        parked=int(parked),
    )


def _seconds(ms: float | None) -> float | None:
    return ms / 1000 if ms is not None else None
