"""Redis clients built from ``[redis]``: short timeouts and no silent retry loops on the request path."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
import structlog
import tenacity
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff

from gateway.config import RedisSettings

log = structlog.get_logger("hookgate.redis")

#: What a Redis outage looks like from the client: down, hung, out of memory, read-only replica...
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

#: Errors that mean "not now" rather than "not this command": unreachable, hung or loading (LOADING is a
#: ConnectionError), or a reply saying it is out of memory, a replica, without its primary, busy.
OUTAGES: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.MasterDownError,
    redis.exceptions.TryAgainError,
)


def is_outage(exc: BaseException) -> bool:
    """Redis cannot be reached or cannot take the command now (refused, reset, timed out, loading, out
    of memory, read-only, busy with a script, or a blocking wait ended because the primary became a
    replica): wait, or answer 503. Any other Redis error is a bad command, not an outage."""
    if isinstance(exc, OUTAGES):
        return True
    return isinstance(exc, redis.ResponseError) and str(exc).startswith(("BUSY", "UNBLOCKED"))


def is_record_outage(exc: BaseException) -> bool:
    """The record (PostgreSQL) cannot be used now: refused, lost, no pooled connection in time
    (psycopg_pool's PoolTimeout is an OperationalError), or its tables are missing (a database that
    came back empty after this process started, until ``hookgate migrate`` runs)."""
    import psycopg

    return isinstance(exc, psycopg.OperationalError | psycopg.errors.UndefinedTable)


def is_store_outage(exc: BaseException) -> bool:
    """Either store is unavailable: what readers answer with 503 (exit 1 in the CLI)."""
    return is_outage(exc) or is_record_outage(exc)


def patiently(seconds: float, what: str) -> tenacity.Retrying:
    """Retries a call through a Redis outage with exponential backoff (50 ms doubling to 2 s) for at
    most ``seconds``, logging each wait; then the last error is raised. Other errors raise at once."""

    def waiting(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "redis unavailable; waiting",
            what=what,
            attempt=state.attempt_number,
            error_type=type(exc).__name__,
            error=str(exc),
            retry_in_s=round(state.upcoming_sleep, 2),
        )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_outage),
        wait=tenacity.wait_exponential(multiplier=0.05, max=2),
        stop=tenacity.stop_after_delay(seconds),
        before_sleep=waiting,
        reraise=True,
    )


class NoRedisConfigured(Exception):
    """``[redis] url`` is not set (``hookgate dev`` starts its own server instead)."""


def _url(settings: RedisSettings) -> str:
    if not settings.url:
        raise NoRedisConfigured("[redis] url is not set (or HOOKGATE_REDIS__URL); `hookgate dev` embeds one")
    return settings.url


def _sentinel_kwargs(settings: RedisSettings) -> dict[str, object]:
    """How to talk to the sentinels themselves: quickly (a dead one is skipped), with their password."""
    found: dict[str, object] = {
        "socket_timeout": settings.timeout_seconds,
        "socket_connect_timeout": settings.connect_timeout_seconds,
    }
    if (password := settings.sentinel_password()) is not None:
        found["password"] = password
    return found


def async_client(settings: RedisSettings) -> aioredis.Redis:
    """For the gateway's event loop: one quick try, then the caller answers 503.

    The caller bounds each call with ``asyncio.timeout`` (``timeout_seconds``), which is far cheaper on the
    hot path than redis-py's per-socket timeouts; only connecting has its own timeout here. A burst of
    requests beyond ``max_connections`` waits for a free connection instead of failing.

    With ``sentinels``, connections go to the primary the sentinels name, asked again whenever one
    fails or answers as a replica (READONLY): after a failover the next requests reach the new primary,
    and the gap answers 503.
    """
    if settings.sentinels:
        from redis.asyncio.sentinel import Sentinel as AsyncSentinel

        assert settings.service_name is not None
        sentinel = AsyncSentinel(settings.sentinel_addresses(), sentinel_kwargs=_sentinel_kwargs(settings))
        primary: aioredis.Redis = sentinel.master_for(
            settings.service_name,
            password=settings.password(),
            socket_connect_timeout=settings.connect_timeout_seconds,
            socket_timeout=None,
            retry=AsyncRetry(NoBackoff(), 0),
            health_check_interval=0,
            max_connections=settings.max_connections,
        )
        return primary
    pool = aioredis.BlockingConnectionPool.from_url(
        _url(settings),
        max_connections=settings.max_connections,
        timeout=settings.timeout_seconds,
        password=settings.password(),
        socket_connect_timeout=settings.connect_timeout_seconds,
        socket_timeout=None,
        retry=AsyncRetry(NoBackoff(), 0),
        health_check_interval=0,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


def sync_client(settings: RedisSettings, *, timeout: float | None = None) -> redis.Redis:
    """For the worker and the CLI, which can afford to wait a little longer (``timeout`` bounds each
    reply, so a hung Redis is an error rather than a hang); through the sentinels when configured."""
    if settings.sentinels:
        from redis.sentinel import Sentinel

        assert settings.service_name is not None
        sentinel = Sentinel(settings.sentinel_addresses(), sentinel_kwargs=_sentinel_kwargs(settings))
        client: redis.Redis = sentinel.master_for(
            settings.service_name,
            password=settings.password(),
            socket_connect_timeout=max(settings.connect_timeout_seconds, 2.0),
            socket_timeout=timeout,
            health_check_interval=30,
        )
        return client
    return redis.Redis.from_url(
        _url(settings),
        password=settings.password(),
        socket_connect_timeout=max(settings.connect_timeout_seconds, 2.0),
        socket_timeout=timeout,
        health_check_interval=30,
    )
