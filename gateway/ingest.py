"""The hot path's one Redis round trip: dedupe, store the raw event and enqueue it, atomically."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from importlib import resources

import redis.asyncio as aioredis
from dramatiq import Message

from gateway import keys
from gateway.settings import RetentionSettings

_SCRIPT = resources.files("gateway").joinpath("ingest.lua").read_text(encoding="utf-8")


def new_event_id(now: float | None = None) -> str:
    """``evt_`` + 12 hex digits of milliseconds + 16 random hex digits: unique and roughly time-ordered."""
    millis = int((time.time() if now is None else now) * 1000)
    return f"evt_{millis:012x}{os.urandom(8).hex()}"


def dispatch_message(event_id: str) -> tuple[str, bytes]:
    """The Dramatiq message that asks the worker's ``dispatch`` actor to handle one event."""
    redis_message_id = str(uuid.uuid4())
    message: Message[None] = Message(
        queue_name=keys.DISPATCH_QUEUE,
        actor_name=keys.DISPATCH_ACTOR,
        args=(event_id,),
        kwargs={},
        options={"redis_message_id": redis_message_id},
    )
    return redis_message_id, message.encode()


@dataclass(frozen=True, slots=True)
class Incoming:
    """A verified delivery, ready to store."""

    source: str
    body: bytes
    headers: list[tuple[str, str]]
    delivery_id: str | None
    event_type: str | None
    dedupe: bool = True


@dataclass(frozen=True, slots=True)
class Stored:
    event_id: str
    duplicate: bool


class Ingestor:
    """Writes verified deliveries to Redis; every method is one round trip."""

    def __init__(self, client: aioredis.Redis, retention: RetentionSettings) -> None:
        self._client = client
        self._retention = retention
        self._script = client.register_script(_SCRIPT)

    async def put_if_new(self, incoming: Incoming) -> Stored:
        """Store and enqueue a delivery unless its delivery id (or body hash) was seen in the window."""
        now = time.time()
        event_id = new_event_id(now)
        if incoming.delivery_id is not None:
            dedupe_key = keys.dedupe(incoming.source, incoming.delivery_id)
            dedupe_ttl, basis = self._retention.dedupe_seconds, "delivery_id"
        else:
            digest = hashlib.sha256(incoming.body).hexdigest()
            dedupe_key = keys.body_hash_dedupe(incoming.source, digest)
            dedupe_ttl, basis = self._retention.body_hash_seconds, "body_sha256"
        if not incoming.dedupe:
            dedupe_ttl, basis = 0, "none"
        message_id, message = dispatch_message(event_id)
        created, first = await self._script(
            keys=[
                dedupe_key,
                keys.event(event_id),
                keys.INDEX_ALL,
                keys.source_index(incoming.source),
                keys.dramatiq_messages(keys.DISPATCH_QUEUE),
                keys.dramatiq_queue(keys.DISPATCH_QUEUE),
            ],
            args=[
                event_id,
                dedupe_ttl,
                self._retention.events_seconds,
                repr(now),
                incoming.source,
                incoming.delivery_id or "",
                incoming.event_type or "",
                json.dumps(incoming.headers, separators=(",", ":")),
                incoming.body,
                basis,
                message_id,
                message,
                keys.event(""),
            ],
        )
        return Stored(event_id=first.decode() if isinstance(first, bytes) else first, duplicate=not created)

    async def ping(self) -> bool:
        return bool(await self._client.ping())
