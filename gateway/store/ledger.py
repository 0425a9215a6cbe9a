"""The idempotency ledger and each event's processing record: consumer states and attempt history.

Per event, all expiring with it: ``hg:done:{event}:{consumer}`` (the ledger: this consumer succeeded),
``hg:cs:{event}`` (each routed consumer's state) and ``hg:att:{event}`` (every attempt, oldest first).
The event's own ``status`` is the worst of its consumers' states, recomputed atomically on each change
(``gateway/store/lua/record.lua``).

A change is an *operation* (a JSON-able dict, ``*_op`` below). The worker does not write them at once:
it hands them to the broker, which writes them in the same atomic step as the message's
acknowledgement (``gateway/store/lua/settle.lua``); ``apply`` writes them at once, for operators and tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import redis
from dramatiq import Message

from gateway.store import keys, scripts
from gateway.store.issues import issue_fields

#: One change to the processing record, as ``gateway/store/lua/record.lua`` applies it.
Operation = dict[str, Any]

#: Compact JSON, as json.dumps(separators=(",", ":")) writes it, at a tenth of the cost (per attempt).
_JSON = msgspec.json.Encoder()

#: A failed attempt keeps the end of its traceback, for the dashboard's timeline.
MAX_TRACEBACK_CHARS = 8_000


@dataclass(frozen=True)
class Attempt:
    """One run of one consumer for one event, or a step an operator took (retry, discard)."""

    at: float
    consumer: str
    attempt: int
    outcome: str  # started | succeeded | failed | rejected | dead | skipped | retried | discarded | filtered
    error: str | None = None
    duration_ms: float | None = None
    traceback: str | None = None

    def encode(self) -> str:
        """The record as stored: compact JSON without the fields that are None."""
        fields: dict[str, Any] = {
            "at": self.at,
            "consumer": self.consumer,
            "attempt": self.attempt,
            "outcome": self.outcome,
        }
        if self.error is not None:
            fields["error"] = self.error
        if self.duration_ms is not None:
            fields["duration_ms"] = self.duration_ms
        if self.traceback is not None:
            fields["traceback"] = self.traceback
        return _JSON.encode(fields).decode()


@dataclass(frozen=True)
class Start:
    """What starting an attempt found: the consumer is now ``processing`` with the event's stored
    ``fields``; or the ledger says it already ``succeeded``; or the event is ``gone`` (expired, purged);
    or its lane does not start it now (``held``); or, inline, its ordering key is not its yet
    (``parked``)."""

    outcome: Literal["started", "succeeded", "gone", "held", "parked"]
    fields: dict[str, bytes] = field(default_factory=dict)
    #: The attempt record a start appended (what ``filtered_op(retract=...)`` takes back).
    record: str = ""


class Ledger:
    """What each consumer did with each event; the source of exactly-once effect (invariant 3).
    ``clock`` stamps what it writes itself (tests pass their own)."""

    def __init__(self, client: redis.Redis, *, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self.clock = clock
        self._begin = scripts.register(client, "begin")
        self._settle = scripts.register(client, "settle")

    def already_done(self, event_id: str, consumer: str) -> bool:
        return bool(self._client.exists(keys.done(event_id, consumer)))

    def apply(self, operations: Sequence[Operation]) -> list[Any]:
        """Write ``operations`` now, atomically; one result per operation."""
        _, results = self._settle(keys=["-", "-"], args=["", repr(self.clock()), encode(operations)])
        return list(results)

    def begin(
        self,
        event_id: str,
        consumer: str,
        attempt: int,
        *,
        force: bool = False,
        message_id: str = "",
        inline: bool = False,
        order_key: str | None = None,
        checks: bool = False,
    ) -> Start:
        """Start an attempt, unless the ledger says it already succeeded (a forced replay runs anyway)
        or the event is gone; with the ``message_id`` carrying it (in a worker), only when the consumer's
        lane lets it start now ("held" otherwise: ``hold_op`` keeps it in the lane). ``inline``: it did not
        come through the lane's queue (dispatch's first attempt of a single consumer); with the ordering
        ``order_key`` of an ordered consumer, only when it may take that key now ("parked" otherwise).
        ``checks``: the caller checks the consumer's filter on the fields before it runs the attempt, so a
        held start comes with them too (a declined one is recorded ``filtered`` instead of held)."""
        now = self.clock()
        record = Attempt(now, consumer, attempt, "started").encode()
        result = self._begin(
            args=[
                event_id,
                consumer,
                record,
                "1" if force else "",
                repr(now),
                message_id,
                "1" if inline else "",
                order_key or "",
                "1" if checks else "",
            ],
        )
        if result == -3:
            return Start("parked")
        if result == -2:
            return Start("held")
        if result == -1:
            return Start("succeeded")
        if not result:
            return Start("gone")
        if result[0] == -2:
            return Start("held", _fields(result[1]))
        return Start("started", _fields(result), record)

    # Operations: built here, written by ``apply`` or with a message's acknowledgement.

    @staticmethod
    def lane_op(
        consumer: str, message_id: str, outcome: str, *, retry_after_ms: int = 0, error: str = ""
    ) -> Operation:
        """An attempt carried by ``message_id`` settled in ``consumer``'s lane: "success", "failure" (counts
        against its breaker; ``retry_after_ms`` is the destination's own wait) or "neutral"."""
        return {
            "op": "lane",
            "consumer": consumer,
            "id": message_id,
            "outcome": outcome,
            "retry_after_ms": retry_after_ms,
            "error": error[:500],
        }

    @staticmethod
    def hold_op(
        event_id: str, consumer: str, message_id: str, message: str, *, release: str = ""
    ) -> Operation:
        """Hold a delivery (``message``, Dramatiq JSON, under the new ``message_id``) in its lane instead of
        attempting it; ``release`` is the admitted message it replaces."""
        return {
            "op": "hold",
            "event": event_id,
            "consumer": consumer,
            "id": message_id,
            "message": message,
            "release": release,
        }

    @staticmethod
    def success_op(
        event_id: str, consumer: str, attempt: int, duration_ms: float, *, at: float | None = None
    ) -> Operation:
        """``at``: when it happened (now if not given), as for every operation below."""
        when = time.time() if at is None else at
        record = Attempt(when, consumer, attempt, "succeeded", duration_ms=round(duration_ms, 2))
        return _transition(event_id, consumer, "processed", record, done=True)

    @staticmethod
    def filtered_op(
        event_id: str, consumer: str, reason: str, *, at: float | None = None, retract: str = ""
    ) -> Operation:
        """The consumer declined the event (its filter, or its transformation returned None): ``filtered``,
        an outcome and not a failure; ``reason`` says which clause declined. ``retract``: the record of
        an attempt that started before its filter declined it (``Start.record``), taken back."""
        when = time.time() if at is None else at
        operation = _transition(
            event_id, consumer, "filtered", Attempt(when, consumer, 0, "filtered", error=text(reason))
        )
        if retract:
            operation["retract"] = retract
        return operation

    @staticmethod
    def failure_op(
        event_id: str,
        consumer: str,
        attempt: int,
        error: str,
        *,
        error_type: str = "",
        rejected: bool = False,
        final: bool = False,
        traceback: str | None = None,
        at: float | None = None,
    ) -> Operation:
        """A failed attempt: ``retrying``, or ``dead`` when ``final``; counted in its issue."""
        record = failure_record(consumer, attempt, error, rejected=rejected, traceback=traceback, at=at)
        operation = _transition(event_id, consumer, "dead" if final else "retrying", record)
        operation["issue"] = issue_fields(event_id, consumer, error_type or _type_of(error), text(error))
        return operation

    @staticmethod
    def fan_out_op(
        event_id: str, messages: Iterable[tuple[str, Message[Any]]], *, force: bool = False
    ) -> Operation:
        """Enqueue each (consumer, deliver message) the ledger has not seen succeed (all of them when
        ``force``), marking it queued."""
        return {
            "op": "fan_out",
            "event": event_id,
            "force": force,
            "messages": [[name, m.options["redis_message_id"], m.encode().decode()] for name, m in messages],
        }

    @staticmethod
    def dispatched_op(event_id: str, source: str | None = None) -> Operation:
        """The event's dispatch is over: ordered deliveries of its source stop waiting for it (the
        watermark, ``lua/ordering.lua``)."""
        return {"op": "dispatched", "event": event_id, "source": source or ""}

    @staticmethod
    def status_op(event_id: str, status: str) -> Operation:
        """The event's own status, for one that no consumer wants (``unrouted``) or that is sent again."""
        return {"op": "status", "event": event_id, "status": status}

    # Written at once.

    def fan_out(
        self, event_id: str, messages: Iterable[tuple[str, Message[Any]]], *, force: bool = False
    ) -> list[str]:
        """``fan_out_op`` written now; returns the consumers enqueued."""
        [pending] = self.apply([self.fan_out_op(event_id, messages, force=force)])
        return [name.decode() for name in pending or []]

    def succeeded(self, event_id: str, consumer: str, attempt: int, duration_ms: float) -> None:
        self.apply([self.success_op(event_id, consumer, attempt, duration_ms, at=self.clock())])

    def failed(
        self,
        event_id: str,
        consumer: str,
        attempt: int,
        error: str,
        *,
        rejected: bool,
        final: bool,
        traceback: str | None = None,
    ) -> None:
        self.apply(
            [
                self.failure_op(
                    event_id,
                    consumer,
                    attempt,
                    error,
                    rejected=rejected,
                    final=final,
                    traceback=traceback,
                    at=self.clock(),
                )
            ]
        )

    def requeued(self, event_id: str, consumer: str, why: str) -> None:
        """An operator sent the event to this consumer again (DLQ retry, replay)."""
        self.apply([_transition(event_id, consumer, "queued", Attempt(self.clock(), consumer, 0, why))])

    def discarded(self, event_id: str, consumer: str) -> None:
        record = Attempt(self.clock(), consumer, 0, "discarded")
        self.apply([_transition(event_id, consumer, "discarded", record)])

    # Reads.

    def event_fields(self, event_id: str) -> dict[str, str]:
        """The event's source and type, for records that outlive a lookup."""
        raw: list[bytes | None] = self._client.hmget(keys.event(event_id), ["source", "event_type"])  # type: ignore[assignment]
        source, event_type = ((value or b"").decode() for value in raw)
        return {"source": source, "event_type": event_type}

    def states(self, event_id: str) -> dict[str, str]:
        raw: dict[bytes, bytes] = self._client.hgetall(keys.consumer_states(event_id))  # type: ignore[assignment]
        return {k.decode(): v.decode() for k, v in raw.items()}

    def attempts(self, event_id: str) -> list[dict[str, Any]]:
        raw: list[bytes] = self._client.lrange(keys.attempts(event_id), 0, -1)  # type: ignore[assignment]
        return [json.loads(item) for item in raw]


def failure_record(
    consumer: str,
    attempt: int,
    error: str,
    *,
    rejected: bool = False,
    traceback: str | None = None,
    at: float | None = None,
) -> Attempt:
    """The attempt record of a failure; the traceback keeps its innermost frames, which tell the most."""
    if traceback and len(traceback) > MAX_TRACEBACK_CHARS:
        traceback = "…" + traceback[-MAX_TRACEBACK_CHARS:]
    outcome = "rejected" if rejected else "failed"
    when = time.time() if at is None else at
    return Attempt(when, consumer, attempt, outcome, error=text(error), traceback=text(traceback) or None)


def _type_of(error: str) -> str:
    """The exception type from a ``one_line`` error ("ForwardFailed: ..."), for callers without it."""
    head, sep, _ = error.partition(":")
    return head if sep and head.isidentifier() else ""


def text(value: str | None) -> str:
    """``value`` as valid UTF-8 (an exception's message may carry a lone surrogate from a payload)."""
    return (value or "").encode("utf-8", "replace").decode("utf-8")


def _transition(
    event_id: str, consumer: str, state: str, record: Attempt, *, done: bool = False
) -> Operation:
    return {
        "op": "transition",
        "event": event_id,
        "consumer": consumer,
        "state": state,
        "attempt": record.encode(),
        "done": done,
    }


def _fields(flat: list[bytes]) -> dict[str, bytes]:
    """An ``HGETALL`` reply from a script (a flat list) as a dict."""
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


def encode(operations: Sequence[Operation]) -> str:
    """Operations as the JSON that ``settle.lua`` decodes."""
    return _JSON.encode(operations).decode()
