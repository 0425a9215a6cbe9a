"""The idempotency ledger and each event's processing record: consumer states and attempt history.

Per event, all expiring with it: ``hg:done:{event}:{consumer}`` (the ledger: this consumer succeeded),
``hg:cs:{event}`` (each routed consumer's state) and ``hg:att:{event}`` (every attempt, oldest first).
The event's own ``status`` is the worst of its consumers' states, recomputed atomically on each change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import redis
from dramatiq import Message

from gateway import keys

#: Worse states win when several consumers disagree; a discarded dead letter counts as settled.
_ROLL_UP = """
local function roll_up(event_key, states_key)
  local rank = {processed = 1, discarded = 1, queued = 2, processing = 3, retrying = 4, dead = 5}
  local worst, worst_rank = 'processed', 0
  for _, s in ipairs(redis.call('HVALS', states_key)) do
    local r = rank[s] or 0
    if r > worst_rank then worst, worst_rank = s, r end
  end
  if worst == 'discarded' then worst = 'processed' end
  redis.call('HSET', event_key, 'status', worst)
end
"""

#: With ARGV[5] == 'begin' it first checks the ledger (returns -1 when already done) and, once the
#: consumer is marked processing, returns the event's fields, so starting an attempt is one round trip.
_TRANSITION = (
    _ROLL_UP
    + """
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
local consumer, state, attempt, done = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if ARGV[5] == 'begin' and redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
-- 'force' (a forced replay) starts the attempt whatever the ledger says.
redis.call('HSET', KEYS[2], consumer, state)
redis.call('PEXPIRE', KEYS[2], ttl)
if attempt ~= '' then
  redis.call('RPUSH', KEYS[3], attempt)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
if done == '1' then redis.call('SET', KEYS[4], '1', 'PX', ttl) end
roll_up(KEYS[1], KEYS[2])
if ARGV[5] ~= '' then return redis.call('HGETALL', KEYS[1]) end
return 1
"""
)

#: Fan-out in one step: every routed consumer the ledger has not seen succeed is marked queued and its
#: deliver message (Dramatiq's format, built by the caller) is enqueued.
#: KEYS: 1 event, 2 consumer states, 3 Dramatiq deliver messages hash, 4 Dramatiq deliver queue
#: ARGV: ledger key prefix for the event ('' for a forced replay: skip no one), then
#: (consumer, message id, message) triples.
_FAN_OUT = (
    _ROLL_UP
    + """
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return {} end
local pending = {}
for i = 2, #ARGV, 3 do
  local consumer, message_id, message = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if ARGV[1] == '' or redis.call('EXISTS', ARGV[1] .. consumer) == 0 then
    redis.call('HSET', KEYS[2], consumer, 'queued')
    redis.call('HSET', KEYS[3], message_id, message)
    redis.call('RPUSH', KEYS[4], message_id)
    table.insert(pending, consumer)
  end
end
redis.call('PEXPIRE', KEYS[2], ttl)
roll_up(KEYS[1], KEYS[2])
return pending
"""
)


def load_scripts(client: redis.Redis) -> None:
    """Load the ledger's scripts (Redis forgets them on a restart)."""
    client.script_load(_TRANSITION)
    client.script_load(_FAN_OUT)


#: A failed attempt keeps the end of its traceback, for the dashboard's timeline.
MAX_TRACEBACK_CHARS = 8_000


@dataclass(frozen=True)
class Attempt:
    """One run of one consumer for one event, or a step an operator took (retry, discard)."""

    at: float
    consumer: str
    attempt: int
    outcome: str  # started | succeeded | failed | rejected | dead | skipped | retried | discarded
    error: str | None = None
    duration_ms: float | None = None
    traceback: str | None = None

    def encode(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, separators=(",", ":"))


class Ledger:
    """What each consumer did with each event; the source of exactly-once effect (invariant 3)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._transition = client.register_script(_TRANSITION)
        self._fan_out = client.register_script(_FAN_OUT)

    def already_done(self, event_id: str, consumer: str) -> bool:
        return bool(self._client.exists(keys.done(event_id, consumer)))

    def fan_out(
        self, event_id: str, messages: Iterable[tuple[str, Message[Any]]], *, force: bool = False
    ) -> list[str]:
        """Enqueue each (consumer, deliver message) the ledger has not seen succeed (all of them when
        ``force``), marking it queued, in one atomic step; returns the consumers enqueued."""
        _, script_keys, args = self.fan_out_command(event_id, messages, force=force)
        pending: list[bytes] = self._fan_out(keys=script_keys, args=args)
        return [name.decode() for name in pending]

    def fan_out_command(
        self, event_id: str, messages: Iterable[tuple[str, Message[Any]]], *, force: bool = False
    ) -> tuple[str, list[str], list[str | bytes]]:
        """``fan_out`` as (script sha, keys, args), to be sent with the dispatch message's ack."""
        args: list[str | bytes] = ["" if force else keys.done(event_id, "")]
        for consumer, message in messages:
            args += [consumer, message.options["redis_message_id"], message.encode()]
        script_keys = [
            keys.event(event_id),
            keys.consumer_states(event_id),
            keys.dramatiq_messages(keys.DELIVER_QUEUE),
            keys.dramatiq_queue(keys.DELIVER_QUEUE),
        ]
        return self._fan_out.sha, script_keys, args

    def begin(
        self, event_id: str, consumer: str, attempt: int, *, force: bool = False
    ) -> dict[str, bytes] | bool | None:
        """Start an attempt: False when the ledger says it already succeeded (unless ``force``), None when
        the event is gone, else the event's stored fields (the consumer is now ``processing``)."""
        result = self._transition(
            keys=self._keys(event_id, consumer),
            args=[
                consumer,
                "processing",
                Attempt(time.time(), consumer, attempt, "started").encode(),
                "0",
                "force" if force else "begin",
            ],
        )
        if result == -1:
            return False
        if not result:
            return None
        return {result[i].decode(): result[i + 1] for i in range(0, len(result), 2)}

    def succeeded(self, event_id: str, consumer: str, attempt: int, duration_ms: float) -> None:
        record = Attempt(time.time(), consumer, attempt, "succeeded", duration_ms=round(duration_ms, 2))
        self._move(event_id, consumer, "processed", record, done=True)

    def success_command(
        self, event_id: str, consumer: str, attempt: int, duration_ms: float
    ) -> tuple[str, list[str], list[str]]:
        """The success write as (script sha, keys, args), for a caller that sends it with other commands
        (the worker's broker sends it in the same transaction as the message's ack)."""
        record = Attempt(time.time(), consumer, attempt, "succeeded", duration_ms=round(duration_ms, 2))
        return (
            self._transition.sha,
            self._keys(event_id, consumer),
            self._args(consumer, "processed", record, True),
        )

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
        outcome = "rejected" if rejected else "failed"
        if traceback and len(traceback) > MAX_TRACEBACK_CHARS:  # the innermost frames tell the most
            traceback = "…" + traceback[-MAX_TRACEBACK_CHARS:]
        record = Attempt(time.time(), consumer, attempt, outcome, error=error, traceback=traceback or None)
        self._move(event_id, consumer, "dead" if final else "retrying", record)

    def requeued(self, event_id: str, consumer: str, why: str) -> None:
        """An operator sent the event to this consumer again (DLQ retry, replay)."""
        record = Attempt(time.time(), consumer, 0, why)
        self._move(event_id, consumer, "queued", record)

    def discarded(self, event_id: str, consumer: str) -> None:
        self._move(event_id, consumer, "discarded", Attempt(time.time(), consumer, 0, "discarded"))

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

    def _move(
        self, event_id: str, consumer: str, state: str, attempt: Attempt | None, *, done: bool = False
    ) -> None:
        self._transition(keys=self._keys(event_id, consumer), args=self._args(consumer, state, attempt, done))

    @staticmethod
    def _args(consumer: str, state: str, attempt: Attempt | None, done: bool) -> list[str]:
        return [
            consumer,
            state,
            attempt.encode() if attempt else "",
            "1" if done else "0",
            "",
        ]

    @staticmethod
    def _keys(event_id: str, consumer: str) -> list[str]:
        return [
            keys.event(event_id),
            keys.consumer_states(event_id),
            keys.attempts(event_id),
            keys.done(event_id, consumer),
        ]
