"""``POST /webhooks/{source}``: limit, verify, then dedupe + store + enqueue in one Redis step.

Each configured source gets its own route, so an unknown source is Litestar's 404 and the body
limit is Litestar's ``request_max_body_size`` for that source (refused before the body is read).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from litestar import Request, Response, post
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler

import signatures
from gateway import metrics
from gateway.connections import REDIS_ERRORS
from gateway.ingest import Incoming, Ingestor
from gateway.problems import problem
from gateway.settings import SourceConfig

log = structlog.get_logger("hookgate.receiver")


def _raw_headers(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """The headers exactly as received: order, repeats and values kept (names arrive lower-cased)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.scope["headers"]]


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        headers.setdefault(name, value)
    return headers


def receiver_for(source: SourceConfig, ingestor: Ingestor, retry_after: int) -> HTTPRouteHandler:
    """The route handler for one source."""
    verifier = source.verifier
    accepted = metrics.DELIVERIES.labels(source.name, "accepted")
    duplicate = metrics.DELIVERIES.labels(source.name, "duplicate")
    rejected = metrics.DELIVERIES.labels(source.name, "rejected_signature")
    too_large = metrics.DELIVERIES.labels(source.name, "too_large")
    unavailable = metrics.DELIVERIES.labels(source.name, "unavailable")
    ingest_seconds = metrics.INGEST_SECONDS.labels(source.name)
    retry_headers = {"Retry-After": str(retry_after)}

    async def receive(request: Request[Any, Any, Any]) -> Response[Any]:
        started = time.perf_counter()
        try:
            body = await request.body()
        except RequestEntityTooLarge:
            too_large.inc()
            log.info("delivery refused", source=source.name, reason="too_large", limit=source.body_limit)
            raise problem(413, f"the body exceeds this source's limit of {source.body_limit} bytes") from None
        except InternalServerException:
            raise problem(400, "the client disconnected before sending the whole body") from None

        pairs = _raw_headers(request)
        url = (source.public_url or str(request.url)) if verifier.signs_url else ""
        delivery = signatures.Delivery(body, _first_values(pairs), url=url)
        try:
            verifier.verify(delivery)
        except signatures.VerificationError as exc:
            rejected.inc()
            log.info("delivery refused", source=source.name, reason=exc.reason, detail=str(exc))
            raise problem(401, str(exc), slug=exc.reason.replace("_", "-")) from None

        delivery_id = verifier.delivery_id(delivery)
        event_type = verifier.event_type(delivery)
        incoming = Incoming(source.name, body, pairs, delivery_id, event_type, source.dedupe)
        try:
            stored = await ingestor.put_if_new(incoming)
        except REDIS_ERRORS as exc:
            unavailable.inc()
            log.warning(
                "event store unavailable", source=source.name, delivery_id=delivery_id, error=str(exc)
            )
            raise problem(503, "the event store is unavailable; retry later", headers=retry_headers) from None

        (duplicate if stored.duplicate else accepted).inc()
        ingest_seconds.observe(time.perf_counter() - started)
        log.info(
            "duplicate delivery" if stored.duplicate else "event stored and enqueued",
            source=source.name,
            delivery_id=delivery_id,
            event_id=stored.event_id,
            event_type=event_type,
        )
        return Response(
            {"event_id": stored.event_id, "duplicate": stored.duplicate},
            status_code=200 if stored.duplicate else 202,
        )

    handler: Callable[..., Coroutine[Any, Any, Response[Any]]] = receive
    handler.__name__ = f"receive_{source.name}"
    return post(
        f"/webhooks/{source.name}",
        name=f"webhook:{source.name}",
        request_max_body_size=source.body_limit,
        status_code=202,
        include_in_schema=False,
    )(handler)
