"""Per-minute counters in Redis that alert rules sum over their windows, written by whichever process
sees the event: the gateway counts refused signatures, the worker's settle step counts failures and dead
letters per issue (``store/lua/record.lua``). Each bucket expires after a day, the longest window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import redis
import redis.asyncio as aioredis
import structlog

from gateway.platform.connections import REDIS_ERRORS
from gateway.store import keys

log = structlog.get_logger("hookgate.alerts")

BUCKET_SECONDS = 60
BUCKET_TTL_SECONDS = 86_400 + BUCKET_SECONDS


def minute(now: float) -> int:
    return int(now // BUCKET_SECONDS)


class SignatureFailures:
    """The gateway's count of refused signatures per source (best effort: a 401 never waits on it)."""

    def __init__(self, client: aioredis.Redis, timeout: float) -> None:
        self._client = client
        self._timeout = timeout

    async def count(self, source: str) -> None:
        key = keys.counter("sig", source, minute(time.time()))
        try:
            async with asyncio.timeout(self._timeout):
                async with self._client.pipeline(transaction=False) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, BUCKET_TTL_SECONDS)
                    await pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("signature failure not counted", source=source, error=str(exc))


def window_sum(
    client: redis.Redis, kind: str, names: Iterable[str], window_seconds: int, now: float
) -> dict[str, int]:
    """Each name's count over the last ``window_seconds`` (whole minutes, the current one included)."""
    names = list(names)
    last = minute(now)
    first = minute(now - window_seconds) + 1
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.mget([keys.counter(kind, name, m) for m in range(first, last + 1)])
        replies = pipe.execute()
    return {name: sum(int(v) for v in values if v) for name, values in zip(names, replies, strict=True)}
