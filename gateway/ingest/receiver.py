"""``POST /webhooks/{source}``: allowlist, size, rate, signature, then dedupe + store + enqueue in one step.

Each configured source gets its own route, so an unknown source is Litestar's 404 and the body limit is
Litestar's ``request_max_body_size`` for that source (refused before the body is read). Checks run
cheapest and least revealing first: 403 → 413 → 429 → 401 → store (200/202/503). While tracing, the
signature check and the store are the event's receive span, whose traceparent is stored with the event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.to_thread
import msgspec
import structlog
from litestar import Request, get, head, post
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.response.base import ASGIResponse

import signatures
from gateway.alerts.counters import SignatureFailures
from gateway.ingest.limits import ClientAddress, RateLimiter, allowed
from gateway.ingest.problems import problem, unavailable
from gateway.ingest.sources import SourceConfig
from gateway.platform import metrics, tracing
from gateway.platform.connections import REDIS_ERRORS, is_outage
from gateway.store.ingest import Incoming, Ingestor, NotReplicated, Stored, bounded, usable

log = structlog.get_logger("hookgate.receiver")

_JSON = msgspec.json.Encoder()

REDACTED = "[redacted]"


def _raw_headers(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """The headers exactly as received: order, repeats and values kept (names arrive lower-cased)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.scope["headers"]]


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        headers.setdefault(name, value)
    return headers


def _signed_url(public_url: str, request: Request[Any, Any, Any]) -> str:
    """The URL the sender signed: ``public_url`` (the gateway sits behind proxies) with the request's
    query string, else the URL as received."""
    if not public_url:
        return str(request.url)
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{public_url}?{query}" if query and "?" not in public_url else public_url


def _facts(
    source: SourceConfig, delivery: signatures.Delivery
) -> tuple[str | None, str | None, signatures.Handshake | None]:
    """The delivery id, event type and handshake answer of a verified delivery. A value that cannot be
    used is absent; a provider that fails to read them does not stop the delivery being stored."""
    verifier = source.verifier
    try:
        return (
            usable(verifier.delivery_id(delivery)),
            usable(verifier.event_type(delivery)),
            (verifier.handshake(delivery)),
        )
    except Exception:
        log.error(
            "could not read a verified delivery's id, type or handshake", source=source.name, exc_info=True
        )
        return None, None, None


def _handshake_answer(handshake: signatures.Handshake) -> ASGIResponse:
    return ASGIResponse(
        body=handshake.body,
        status_code=handshake.status,
        media_type=handshake.content_type,
        headers=dict(handshake.headers),
    )


class Receiver:
    """Everything the receivers share: the store, the rate limiter and how to find the client address."""

    def __init__(
        self,
        ingestor: Ingestor,
        limiter: RateLimiter,
        clients: ClientAddress,
        retry_after: int,
        signature_failures: SignatureFailures,
    ):
        self.ingestor = ingestor
        self.limiter = limiter
        self.clients = clients
        self.retry_after = retry_after
        self.signature_failures = signature_failures

    def routes_for(self, source: SourceConfig) -> list[HTTPRouteHandler]:
        """The POST route for a source, a GET route for providers whose endpoint check is a GET, and a HEAD
        route answering 200 (storing nothing) for those that check with an unsigned HEAD."""
        receive = self._handler(source)
        receive.__name__ = f"receive_{source.name}"
        options: dict[str, Any] = {"request_max_body_size": source.body_limit, "include_in_schema": False}
        routes = [post(f"/webhooks/{source.name}", name=f"webhook:{source.name}", **options)(receive)]
        if source.verifier.answers_get:
            routes.append(
                get(f"/webhooks/{source.name}", name=f"webhook-check:{source.name}", **options)(receive)
            )
        if source.verifier.answers_head:

            async def reachable() -> None:
                return None

            reachable.__name__ = f"reachable_{source.name}"
            routes.append(
                head(f"/webhooks/{source.name}", name=f"webhook-head:{source.name}", include_in_schema=False)(
                    reachable
                )
            )
        return routes

    def _handler(
        self, source: SourceConfig
    ) -> Callable[[Request[Any, Any, Any]], Coroutine[Any, Any, ASGIResponse]]:
        steps = SourceReceiver(self, source)

        # Answers are built as ASGI responses (the JSON encoded here): Litestar sends them as they are.
        async def handle(request: Request[Any, Any, Any]) -> ASGIResponse:
            return await steps.receive(request)

        return handle


class SourceReceiver:
    """One source's deliveries, through the checks in their order: the route (an unknown source has none:
    Litestar's 404), the allowlist (403), the size (413), the rate (429), the signature (401), then the
    store (200/202/503). Every refusal goes through ``refuse``."""

    def __init__(self, shared: Receiver, source: SourceConfig) -> None:
        self._shared = shared
        self._source = source
        self._verifier = source.verifier
        self._outcomes = {name: metrics.DELIVERIES.labels(source.name, name) for name in metrics.OUTCOMES}
        self._ingest_seconds = metrics.INGEST_SECONDS.labels(source.name)
        self._tracer = tracing.tracer()

    async def receive(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        started = time.perf_counter()
        pairs = _raw_headers(request)
        self._check_allowlist(request, pairs)
        body = await self._read_body(request)
        await self._check_rate()
        headers = _first_values(pairs)
        if self._tracer is None:
            return await self._admit(request, pairs, headers, body, started)
        with tracing.receive_span(self._source.name, headers):
            return await self._admit(request, pairs, headers, body, started)

    # The checks, in order

    def _check_allowlist(self, request: Request[Any, Any, Any], pairs: list[tuple[str, str]]) -> None:
        if self._source.allowed_ips is None:
            return
        client = request.scope.get("client")
        forwarded = [value for name, value in pairs if name == "x-forwarded-for"]
        address = self._shared.clients.resolve(client[0] if client else None, forwarded)
        if not allowed(address, self._source.allowed_ips):
            raise self._refuse(
                "forbidden", 403, "this address may not post to this source", client=str(address)
            )

    async def _read_body(self, request: Request[Any, Any, Any]) -> bytes:
        """The body, refused once it passes the source's limit (Litestar stops reading there)."""
        try:
            return await request.body()
        except RequestEntityTooLarge:
            raise self._refuse(
                "too_large", 413, f"the body exceeds this source's limit of {self._source.body_limit} bytes"
            ) from None
        except InternalServerException:
            raise problem(400, "the client disconnected before sending the whole body") from None

    async def _check_rate(self) -> None:
        if self._source.rate is None:
            return
        try:
            wait_ms = await self._shared.limiter.retry_after_ms(self._source.name, self._source.rate)
        except REDIS_ERRORS as exc:
            self._count("unavailable")
            log.warning("rate limiter unavailable", source=self._source.name, error=str(exc))
            raise unavailable(self._shared.retry_after) from None
        if wait_ms:
            seconds = str(max(1, -(-wait_ms // 1000)))
            raise self._refuse(
                "rate_limited", 429, "this source's rate limit is exceeded", headers={"Retry-After": seconds}
            )

    async def _admit(
        self,
        request: Request[Any, Any, Any],
        pairs: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
        started: float,
    ) -> ASGIResponse:
        """Verify the signature, then store and enqueue: what the receive span covers."""
        delivery = await self._verify(request, headers, body)
        # From here on the delivery is genuine: it is stored (unless it is a pure handshake), or the sender
        # is told to retry.
        if self._verifier.blocking:  # a handshake may wait on the network (SNS's confirmation)
            delivery_id, event_type, handshake = await anyio.to_thread.run_sync(
                _facts, self._source, delivery
            )
        else:
            delivery_id, event_type, handshake = _facts(self._source, delivery)
        if handshake is not None and not handshake.store:  # a check that carries no event
            log.info("answered the provider's handshake", source=self._source.name, stored=False)
            return _handshake_answer(handshake)
        query = request.scope.get("query_string", b"").decode("latin-1")
        stored = await self._store(self._incoming(pairs, body, delivery_id, event_type, query))
        return self._answer(stored, bounded(delivery_id), bounded(event_type), handshake, started)

    async def _verify(
        self, request: Request[Any, Any, Any], headers: dict[str, str], body: bytes
    ) -> signatures.Delivery:
        url = _signed_url(self._source.public_url, request) if self._verifier.signs_url else ""
        delivery = signatures.Delivery(body, headers, url=url, method=request.method)
        try:
            if self._verifier.blocking:  # a certificate to fetch must not stall every other request
                await anyio.to_thread.run_sync(self._verifier.verify, delivery)
            else:
                self._verifier.verify(delivery)
        except signatures.VerificationError as exc:
            slug = exc.reason.replace("_", "-")
            await self._shared.signature_failures.count(self._source.name)  # for when = "signature_failures"
            raise self._refuse(
                "rejected_signature", 401, str(exc), reason=exc.reason, slug=slug, detail=str(exc)
            ) from None
        except Exception:  # a verifier tripped on input it should have refused: still bad input
            log.error("a verifier failed on a delivery", source=self._source.name, exc_info=True)
            raise self._refuse(
                "rejected_signature", 401, "the signature could not be read", reason="unreadable"
            ) from None
        return delivery

    # The store

    def _incoming(
        self,
        pairs: list[tuple[str, str]],
        body: bytes,
        delivery_id: str | None,
        event_type: str | None,
        query: str,
    ) -> Incoming:
        """What is stored: credential headers redacted, the query string (for filters on it); while
        tracing, the receive span's context."""
        if self._verifier.credential_headers:
            pairs = [(n, REDACTED if n in self._verifier.credential_headers else v) for n, v in pairs]
        traceparent = None
        if self._tracer is not None:  # what the receive span is about, and its context to store
            traceparent = tracing.record_delivery(bounded(delivery_id), bounded(event_type))
        source = self._source
        return Incoming(source.name, body, pairs, delivery_id, event_type, source.dedupe, traceparent, query)

    async def _store(self, incoming: Incoming) -> Stored:
        """Store and enqueue, or tell the sender to retry (503)."""
        source_name, delivery_id = self._source.name, bounded(incoming.delivery_id)
        try:
            return await self._shared.ingestor.put_if_new(incoming)
        except NotReplicated as exc:  # stored on the primary only: the sender's retry is deduped
            self._count("unavailable")
            log.warning(
                "event not confirmed by enough replicas",
                source=source_name,
                delivery_id=delivery_id,
                event_id=exc.event_id,
                replica_acks=exc.acks,
                wanted=exc.wanted,
            )
            raise unavailable(self._shared.retry_after) from None
        except Exception as exc:
            self._count("unavailable")
            if is_outage(exc):  # down, hung (our asyncio timeout is an OSError), OOM
                log.warning(
                    "event store unavailable",
                    source=source_name,
                    delivery_id=delivery_id,
                    error_type=type(exc).__name__,
                    error=str(exc),
                )
            else:  # a bug: the sender retries, and the traceback is in the log
                log.error("could not store a verified delivery", source=source_name, exc_info=True)
            raise unavailable(self._shared.retry_after) from None

    def _answer(
        self,
        stored: Stored,
        delivery_id: str | None,
        event_type: str | None,
        handshake: signatures.Handshake | None,
        started: float,
    ) -> ASGIResponse:
        """202 for a new event, 200 for a duplicate, or the answer the provider's handshake requires."""
        self._count("duplicate" if stored.duplicate else "accepted", stored.event_id)
        self._ingest_seconds.observe(time.perf_counter() - started)
        log.info(
            "duplicate delivery" if stored.duplicate else "event stored and enqueued",
            source=self._source.name,
            delivery_id=delivery_id,
            event_id=stored.event_id,
            event_type=event_type,
        )
        if handshake is not None:
            log.info("answered the provider's handshake", source=self._source.name, event_id=stored.event_id)
            return _handshake_answer(handshake)
        return ASGIResponse(
            body=_JSON.encode({"event_id": stored.event_id, "duplicate": stored.duplicate}),
            status_code=200 if stored.duplicate else 202,
            media_type="application/json",
        )

    # Outcomes

    def _count(self, outcome: str, event_id: str | None = None) -> None:
        """Count a delivery's outcome; while tracing, put it on the receive span (if one is open)."""
        self._outcomes[outcome].inc()
        if self._tracer is not None:
            tracing.record_outcome(outcome, event_id, failed=outcome == "unavailable")

    def _refuse(
        self, outcome: str, status: int, message: str, *, headers: dict[str, str] | None = None, **fields: Any
    ) -> Exception:
        """Count and log a refused delivery; the problem to raise."""
        self._count(outcome)
        slug = fields.pop("slug", None)
        log.info("delivery refused", source=self._source.name, reason=fields.pop("reason", outcome), **fields)
        return problem(status, message, headers=headers, slug=slug)
