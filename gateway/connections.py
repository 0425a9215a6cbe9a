"""Redis clients built from ``[redis]``: short timeouts and no silent retry loops on the request path."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway.settings import RedisSettings

#: What a Redis outage looks like from the client: down, hung, out of memory, read-only replica...
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


class NoRedisConfigured(Exception):
    """``[redis] url`` is not set (``hookgate dev`` starts its own server instead)."""


def _url(settings: RedisSettings) -> str:
    if not settings.url:
        raise NoRedisConfigured("[redis] url is not set (or HOOKGATE_REDIS__URL); `hookgate dev` embeds one")
    return settings.url


def async_client(settings: RedisSettings) -> aioredis.Redis:
    """For the gateway's event loop: one quick try, then the caller answers 503.

    The caller bounds each call with ``asyncio.timeout`` (``timeout_seconds``), which is far cheaper on the
    hot path than redis-py's per-socket timeouts; only connecting has its own timeout here. A burst of
    requests beyond ``max_connections`` waits for a free connection instead of failing.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        _url(settings),
        max_connections=settings.max_connections,
        timeout=settings.timeout_seconds,
        password=settings.password(),
        socket_connect_timeout=settings.connect_timeout_seconds,
        socket_timeout=None,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


def sync_client(settings: RedisSettings, *, timeout: float | None = None) -> redis.Redis:
    """For the worker and the CLI, which can afford to wait a little longer."""
    return redis.Redis.from_url(
        _url(settings),
        password=settings.password(),
        socket_connect_timeout=max(settings.connect_timeout_seconds, 2.0),
        socket_timeout=timeout,
        health_check_interval=30,
    )
