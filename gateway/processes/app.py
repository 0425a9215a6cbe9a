"""The Litestar application: the webhook receivers and health checks (the public part), the admin API,
the dashboard and /metrics (the admin part); one app with both, or one part per listener when
``[admin] port`` splits them. Redis clients and the operator services are built here, once."""

from __future__ import annotations

from typing import Any, Literal

import redis.asyncio as aioredis
from litestar import Litestar, Response, Router, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusController

from gateway.alerts.counters import SignatureFailures
from gateway.alerts.service import AlertService
from gateway.config import Settings
from gateway.frontends.api import admin_api
from gateway.frontends.dashboard import dashboard_router, template_config
from gateway.frontends.dashboard.auth import LoginGuard, Sessions
from gateway.frontends.tokens import AdminToken, TokenBook, requires
from gateway.ingest.backlog import Backlog
from gateway.ingest.drain import Drain
from gateway.ingest.limits import ClientAddress, RateLimiter
from gateway.ingest.problems import plugin as problem_details
from gateway.ingest.problems import unavailable
from gateway.ingest.receiver import Receiver
from gateway.ingest.sources import SourceConfig, build_sources
from gateway.platform import connections
from gateway.processes.operators import WebOperators
from gateway.store import keys
from gateway.store.ingest import Ingestor


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


class _Metrics(PrometheusController):
    """Litestar's Prometheus endpoint, with the backlog gauges refreshed from Redis first; for a bearer
    token with (at least) the ``metrics`` scope."""

    path = "/metrics"
    include_in_schema = False
    guards = [requires("metrics")]  # noqa: RUF012

    @get(include_in_schema=False)
    async def get(self, state: State) -> Response[Any]:
        await state.backlog.refresh()
        response: Response[Any] = await PrometheusController.get.fn(self)
        return response


class _PublicMetrics(_Metrics):
    """``[admin] public_metrics``: the same, without a token."""

    guards = []  # noqa: RUF012


def _openapi() -> OpenAPIConfig:
    """The admin API's document at ``/api/v1/schema`` (``openapi.json``, ``openapi.yaml``), for a token
    with the ``read`` scope, like the API it describes."""
    return OpenAPIConfig(
        title="hookgate admin API",
        version="1",
        description="Stored events, replays and dead letters. Errors are application/problem+json.",
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="The secret of an [[admin.tokens]] entry."
                )
            }
        ),
        openapi_router=Router(
            "/api/v1/schema", guards=[requires("read")], route_handlers=[], include_in_schema=False
        ),
        render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
    )


def create_app(
    settings: Settings,
    *,
    client: aioredis.Redis | None = None,
    sources: dict[str, SourceConfig] | None = None,
    part: Literal["all", "public", "admin"] = "all",
    run_alerts: bool = False,
    install_drain: bool = True,
) -> Litestar:
    """Build the gateway for ``settings``; ``client`` may be passed in by tests.

    ``part`` splits it for ``[admin] port``: "public" carries the webhooks and health checks, "admin"
    the admin API, metrics and health checks. ``install_drain``: on SIGTERM, fail readiness for
    ``[gateway] shutdown_delay_seconds`` before uvicorn stops (the split server drains both itself).
    """
    sources = build_sources(settings) if sources is None else sources
    client = connections.async_client(settings.redis) if client is None else client
    ingestor = Ingestor(
        client,
        settings.retention,
        settings.redis.timeout_seconds,
        record=settings.record is not None,
        replica_acks=settings.redis.min_replica_acks,
        replica_ack_timeout_ms=settings.redis.replica_ack_timeout_ms,
    )
    retry_after = settings.gateway.retry_after_seconds
    services = WebOperators(settings)  # the admin API's (injected) and the dashboard's (app state)
    tokens = [AdminToken(t.name, frozenset(t.scopes), t.digest()) for t in settings.admin.tokens]

    drain = Drain(settings.gateway.shutdown_delay_seconds)

    @get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str | int]:
        """200 when Redis answers, else 503; 503 too once the gateway is stopping (``drain``). With the
        record on, ``record_backlog`` says how many events wait to be written to it (PostgreSQL down
        does not make a gateway unready: ingest never waits for it)."""
        if drain.active:
            raise unavailable(retry_after)
        try:
            await ingestor.ping()
            if settings.record is None:
                return {"status": "ready"}
            backlog = int(await client.zcard(keys.RECORD_PENDING))
        except connections.REDIS_ERRORS:
            raise unavailable(retry_after) from None
        return {"status": "ready", "record_backlog": backlog}

    async def close_client(_: Litestar) -> None:
        await client.aclose()

    # `serve` processes take part in the election of the alert evaluator (workers do too).
    alerts = (
        AlertService(connections.sync_client(settings.redis, timeout=10), settings) if run_alerts else None
    )

    async def start_alerts(_: Litestar) -> None:
        if alerts is not None:
            alerts.start()

    async def stop_alerts(_: Litestar) -> None:
        if alerts is not None:
            alerts.stop()

    limiter = RateLimiter(client, settings.redis.timeout_seconds)
    addresses = ClientAddress(settings.gateway.trusted_proxies)
    handlers: list[Any] = [healthz, readyz]
    if part != "public":
        metrics = _PublicMetrics if settings.admin.public_metrics else _Metrics
        handlers += [metrics, admin_api(services, retry_after=retry_after), dashboard_router(settings)]
    if part != "admin":
        receiver = Receiver(
            ingestor,
            limiter,
            addresses,
            retry_after,
            SignatureFailures(client, settings.redis.timeout_seconds),
        )
        handlers += [route for source in sources.values() for route in receiver.routes_for(source)]
    limits = [source.body_limit for source in sources.values()] or [settings.gateway.max_body_bytes]
    return Litestar(
        route_handlers=handlers,
        plugins=[problem_details()],
        request_max_body_size=max(limits),
        on_startup=[start_alerts] + ([lambda _: drain.install()] if install_drain else []),
        on_shutdown=[stop_alerts, close_client],
        state=State(
            {
                "drain": drain,
                "tokens": TokenBook(tokens),
                "admin": services,
                "retry_after": retry_after,
                "backlog": Backlog(client, settings.retention.events_seconds, settings.redis.timeout_seconds),
                "dashboard_sources": sorted(sources),
                "login_guard": LoginGuard(limiter, addresses),
                "sessions": Sessions(client, settings.admin, settings.redis.timeout_seconds),
                "retention_seconds": settings.retention.events_seconds,
            }
        ),
        template_config=template_config() if part != "public" else None,
        openapi_config=_openapi() if part != "public" else None,
        logging_config=None,
        debug=False,
    )
