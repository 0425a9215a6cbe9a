"""The hot path's one Redis round trip: dedupe, store the raw event and enqueue it, atomically."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import redis.asyncio as aioredis
import redis.exceptions

from gateway.config import RetentionSettings
from gateway.store import keys, scripts

_JSON = msgspec.json.Encoder()

#: Longer delivery ids are hashed before they become part of a Redis key.
MAX_KEYED_ID = 200
#: A delivery id or event type is stored, logged, routed on and forwarded as at most this many
#: characters (the body keeps the sender's exact value; dedupe uses the whole id).
MAX_LOCATED_CHARS = 256


def script_constants(retention: RetentionSettings, *, record: bool = False) -> dict[str, scripts.Constant]:
    """``ingest.lua``'s constants, from the settings."""
    return {
        "EVENT_TTL": retention.events_seconds,
        "DEDUPE_TTL": retention.dedupe_seconds,
        "BODY_HASH_TTL": retention.body_hash_seconds,
        "RECORD": record,
    }


def new_event_id(now: float | None = None) -> str:
    """``evt_`` + 12 hex digits of milliseconds + 16 random hex digits: unique and roughly time-ordered."""
    millis = int((time.time() if now is None else now) * 1000)
    return f"evt_{millis:012x}{os.urandom(8).hex()}"


def usable(value: object) -> str | None:
    """A delivery id or event type as hookgate can key, store and log it: non-empty text that is valid
    UTF-8 (a JSON escape such as ``\\ud800`` is not). Anything else counts as absent, so a validly signed
    delivery is still stored (dedupe falls back to the body hash)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def bounded(value: str | None) -> str | None:
    """The stored and logged form of a delivery id or event type: at most ``MAX_LOCATED_CHARS``."""
    return value if value is None or len(value) <= MAX_LOCATED_CHARS else value[:MAX_LOCATED_CHARS]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A verified delivery, ready to store. ``delivery_id`` and ``event_type`` are ``usable`` values (or
    None); the whole delivery id keys the dedupe, ``bounded`` forms are stored."""

    source: str
    body: bytes
    headers: list[tuple[str, str]]
    delivery_id: str | None
    event_type: str | None
    dedupe: bool = True
    #: The receive span's W3C traceparent while tracing is on: kept with the event and its message.
    traceparent: str | None = None
    #: The request's raw query string ('' for none), kept for filters on ``query``.
    query: str = ""


class NotReplicated(Exception):
    """Stored on the primary, but fewer replicas than ``min_replica_acks`` confirmed it in time: the
    delivery is answered 503, and the sender's retry is deduped against the stored event."""

    def __init__(self, event_id: str, acks: int, wanted: int) -> None:
        super().__init__(f"{acks} of {wanted} replica(s) confirmed the write in time")
        self.event_id = event_id
        self.acks = acks
        self.wanted = wanted


@dataclass(frozen=True, slots=True)
class Stored:
    event_id: str
    duplicate: bool


class Ingestor:
    """Writes verified deliveries to Redis; every method is one round trip. ``clock`` gives the time of
    receipt (tests pass their own); with ``record`` (``[record]`` configured) new events are left for the
    record's writer instead of Redis's own indexes."""

    def __init__(
        self,
        client: aioredis.Redis,
        retention: RetentionSettings,
        timeout: float,
        *,
        clock: Callable[[], float] = time.time,
        record: bool = False,
        replica_acks: int = 0,
        replica_ack_timeout_ms: int = 200,
    ) -> None:
        self._client = client
        self._clock = clock
        self._retention = retention
        self._timeout = timeout
        self._replica_acks = replica_acks
        self._replica_ack_timeout_ms = replica_ack_timeout_ms
        self._script = scripts.register(client, "ingest", **script_constants(retention, record=record))

    async def put_if_new(self, incoming: Incoming) -> Stored:
        """Store and enqueue a delivery unless its delivery id (or body hash) was seen in the window."""
        now = round(self._clock(), 6)  # microseconds: what the record (timestamptz) keeps exactly
        event_id = new_event_id(now)
        dedupe_key, basis = self._dedupe(incoming)
        args: list[str | bytes] = [
            event_id,
            repr(now),
            incoming.source,
            bounded(incoming.delivery_id) or "",
            bounded(incoming.event_type) or "",
            _JSON.encode(incoming.headers),
            incoming.body,
            basis,
            incoming.query,
        ]
        if incoming.traceparent is not None:
            args.append(incoming.traceparent)
        script_keys = [dedupe_key, keys.event(event_id), keys.source_index(incoming.source)]
        if self._replica_acks:
            created, first = await self._store_replicated(script_keys, args)
        else:
            async with asyncio.timeout(self._timeout):
                created, first = await self._script(keys=script_keys, args=args)
        return Stored(event_id=first.decode() if isinstance(first, bytes) else first, duplicate=not created)

    async def _store_replicated(self, script_keys: list[str], args: list[str | bytes]) -> tuple[int, Any]:
        """The script and ``WAIT`` in one round trip on one connection (WAIT counts the replicas that
        have this connection's writes; a duplicate's write counts too, so a retry after a 503 is
        answered 200 only once the event is on the replicas)."""
        wait_seconds = self._replica_ack_timeout_ms / 1000
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(self._timeout + wait_seconds):
                    async with self._client.pipeline(transaction=False) as pipe:
                        pipe.evalsha(self._script.sha, len(script_keys), *script_keys, *args)
                        pipe.execute_command("WAIT", self._replica_acks, self._replica_ack_timeout_ms)
                        (created, first), acks = await pipe.execute()
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
                await self._client.script_load(self._script.script)  # Redis restarted: nothing was written
                continue
            if int(acks) < self._replica_acks:
                found = first.decode() if isinstance(first, bytes) else first
                raise NotReplicated(found, int(acks), self._replica_acks)
            return created, first
        raise AssertionError("unreachable")

    @staticmethod
    def _dedupe(incoming: Incoming) -> tuple[str, str]:
        """The dedupe key and what it is based on (the script knows each basis's window)."""
        if not incoming.dedupe:
            return keys.NO_DEDUPE, "none"
        delivery_id = incoming.delivery_id
        if delivery_id is not None:
            if len(delivery_id) > MAX_KEYED_ID:
                delivery_id = "sha256:" + hashlib.sha256(delivery_id.encode()).hexdigest()
            return keys.dedupe(incoming.source, delivery_id), "delivery_id"
        return keys.body_hash_dedupe(
            incoming.source, hashlib.sha256(incoming.body).hexdigest()
        ), "body_sha256"

    async def ping(self) -> bool:
        async with asyncio.timeout(self._timeout):
            return bool(await self._client.ping())
