"""The admin API under ``/api/v1``: bearer tokens with scopes, the same operations the CLI runs."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec
import structlog
from litestar import Controller, Request, Response, Router, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from consumers import ConsumerConfigError
from gateway import operate
from gateway.alerts.issues import ACTIONS
from gateway.frontends.api_models import (
    DeadLetter,
    DeadLetterDetail,
    DeadLettered,
    DeadLetterPage,
    DeadLetterSelection,
    DescribedDelivery,
    Destination,
    DestinationPage,
    Event,
    EventDetail,
    EventPage,
    Issue,
    IssueDetail,
    IssuePage,
    Problem,
    Purged,
    ReplayCancel,
    Replayed,
    ReplayFilter,
    ReplayOne,
    ReplayProgress,
    ReplayStarted,
    Retried,
    RouteVerdict,
    RouteVerdictPage,
    Stats,
)
from gateway.frontends.operators import Operators
from gateway.frontends.tokens import audit, requires
from gateway.ingest.problems import problem, unavailable
from gateway.operate import BadRequest, Context, filters, jobs, routing
from gateway.platform.connections import is_store_outage
from gateway.store.dlq import DeadLetterFilter

__all__ = ["MAX_ADMIN_BODY_BYTES", "AdminAPI", "Backend", "admin_api"]

log = structlog.get_logger("hookgate.admin")

T = TypeVar("T")

_ERRORS = {
    400: "The request could not be read (a body that is not JSON, or nests too deeply).",
    401: "No valid bearer token.",
    403: "The token lacks the scope this route needs.",
    404: "No such event, dead letter, replay, issue or destination.",
    413: "The request body is larger than 64 KiB.",
    422: "A parameter, filter or cursor cannot be used; the detail names it.",
    503: "The event store does not answer; retry after Retry-After seconds.",
}


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem answers a route may give: 400, 401, 403, 422 and 503 for every route (a GET's 400 is a
    request its parameters could not be read from), plus ``statuses``."""
    return {status: _problem(_ERRORS[status]) for status in sorted({400, 401, 403, 422, 503, *statuses})}


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type="application/problem+json",
        generate_examples=False,
    )


_ONE = _errors(404)
_BODY = _errors(413)
_ONE_WITH_BODY = _errors(404, 413)
#: A route test's 422 is also a configuration whose consumers the web process cannot load.
_UNLOADABLE = _problem(
    "A field cannot be used (the detail names it), or the configuration's consumers cannot be loaded "
    "(the detail says why)."
)
_ROUTES_ONE = {**_ONE, 422: _UNLOADABLE}
_ROUTES_BODY = {**_BODY, 422: _UNLOADABLE}


@dataclass(frozen=True)
class Backend:
    """What the admin routes run on, given to them by dependency injection (``admin_api``): the
    operators' contexts (``reader``, and ``writer``, which can enqueue), and the Retry-After a 503
    carries."""

    services: Operators
    retry_after: int

    @property
    def reader(self) -> Context:
        return self.services.reader

    @property
    def writer(self) -> Context:
        return self.services.writer

    @property
    def routes(self) -> routing.RouteTable:
        """The route table, built on first use (it imports the consumer and transformation modules): a
        configuration whose consumers cannot be loaded is a 422 that says why, as ``hookgate route test``
        exits 2."""
        try:
            return self.services.routes
        except ConsumerConfigError as exc:
            log.warning("route test: the consumers cannot be loaded", error=str(exc))
            raise problem(422, f"the consumers cannot be loaded: {exc}") from None

    def run(self, call: Callable[[], T]) -> T:
        """Run an operation: unusable input is a 422, an unreachable store a 503 with Retry-After; any
        other error is a bug (500, logged)."""
        try:
            return call()
        except BadRequest as exc:
            raise problem(422, str(exc)) from None
        except Exception as exc:
            if not is_store_outage(exc):
                raise
            raise unavailable(self.retry_after) from None


def admin_api(services: Operators, *, retry_after: int) -> Router:
    """The admin API (``AdminAPI``) with its ``backend`` dependency."""
    backend = Backend(services, retry_after)
    return Router(
        "/",
        route_handlers=[AdminAPI],
        dependencies={"backend": Provide(lambda: backend, use_cache=True, sync_to_thread=False)},
    )


#: An admin request body is a small filter; nothing larger is read.
MAX_ADMIN_BODY_BYTES = 65_536


class AdminAPI(Controller):
    path = "/api/v1"
    include_in_schema = True
    tags = ["admin"]  # noqa: RUF012
    request_max_body_size = MAX_ADMIN_BODY_BYTES
    security = [{"bearer": []}]  # noqa: RUF012

    @get("/events", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def list_events(
        self,
        backend: NamedDependency[Backend],
        source: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        event_type: FromQuery[str | None] = None,
        consumer: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        match: FromQuery[str | None] = None,
        header: FromQuery[list[str] | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> EventPage:
        """Events, newest first, cursor-paginated. ``match`` (a JSON document the body contains) and
        ``header`` (``Name: value``, repeatable) search payloads; both need the record."""

        def page() -> tuple[list[dict[str, Any]], str | None]:
            where = filters.event_filter(
                source=source,
                status=status,
                event_type=event_type,
                consumer=consumer,
                since=since,
                until=until,
                match=match,
                header=header,
            )
            after, most = filters.cursor_arg(cursor), filters.limit_arg(limit)
            return operate.events.page(backend.reader, where, limit=most, after=after)

        items, next_cursor = backend.run(page)
        return EventPage(items=msgspec.convert(items, list[Event]), next_cursor=next_cursor)

    @get("/events/{event_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_event(self, backend: NamedDependency[Backend], event_id: FromPath[str]) -> EventDetail:
        """One event: metadata, headers, body and attempts per consumer."""
        record = backend.run(lambda: operate.events.show(backend.reader, event_id))
        if record is None:
            raise problem(404, f"no event {event_id!r}")
        return msgspec.convert(record, EventDetail)

    @get(
        "/events/{event_id:str}/routes", guards=[requires("read")], sync_to_thread=True, responses=_ROUTES_ONE
    )
    def event_routes(self, backend: NamedDependency[Backend], event_id: FromPath[str]) -> RouteVerdictPage:
        """Each consumer's verdict on a stored event as the configuration stands: routed or not, the first
        clause of its filter that declined, and the request a forward would send after its
        transformation (run here, under its time limit). Nothing is sent or written."""
        routes = backend.routes
        found = backend.run(lambda: routes.check_stored(backend.reader, event_id))
        if found is None:
            raise problem(404, f"no event {event_id!r}")
        return _verdict_page(found)

    @post(
        "/routes/test",
        guards=[requires("read")],
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=_ROUTES_BODY,
    )
    def route_test(
        self, backend: NamedDependency[Backend], data: JSONBody[DescribedDelivery]
    ) -> RouteVerdictPage:
        """Each consumer's verdict on a delivery described in the body, as for a stored event. Nothing is
        sent or written."""
        routes = backend.routes
        return _verdict_page(backend.run(lambda: _check_described(routes, data)))

    @post(
        "/events/{event_id:str}/replay",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_ONE_WITH_BODY,
    )
    def replay_event(
        self,
        request: Request[Any, Any, Any],
        backend: NamedDependency[Backend],
        event_id: FromPath[str],
        data: JSONBody[ReplayOne | None] = None,
    ) -> Replayed:
        """Re-enqueue one event."""
        data = data or ReplayOne()
        context = backend.writer
        sent = backend.run(
            lambda: list(
                operate.replay.replay(
                    context,
                    [event_id],
                    force=data.force,
                    consumer=data.consumer,
                    ignore_filters=data.ignore_filters,
                )
            )
        )
        if not sent:
            raise problem(404, f"no event {event_id!r}")
        audit(request, "replay", event_id=event_id, force=data.force, consumer=data.consumer)
        return Replayed(event_id=event_id, replayed=True)

    @post(
        "/replays",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_BODY,
    )
    def bulk_replay(
        self, request: Request[Any, Any, Any], backend: NamedDependency[Backend], data: JSONBody[ReplayFilter]
    ) -> ReplayStarted:
        """Replay every event matching the filter, as a worker's job; poll or cancel ``/replays/{id}``."""
        services = backend.services

        def begin() -> str:
            where = filters.event_filter(
                source=data.source,
                status=data.status,
                event_type=data.event_type,
                consumer=data.consumer,
                since=data.since,
                until=data.until,
                match=data.match,
                header=data.header,
            )

            def bulk(context: Context) -> operate.replay.BulkReplay:
                return operate.replay.BulkReplay(
                    context,
                    where,
                    force=data.force,
                    consumer=data.consumer,
                    dry_run=data.dry_run,
                    ignore_filters=data.ignore_filters,
                )

            bulk(services.reader)  # checks the request before a broker is built to enqueue it
            replay_id = "rpl_" + os.urandom(8).hex()
            jobs.start(services.writer, replay_id, bulk(services.writer))
            return replay_id

        replay_id = backend.run(begin)
        audit(request, "bulk replay", replay_id=replay_id, dry_run=data.dry_run, force=data.force)
        return ReplayStarted(replay_id=replay_id)

    @get("/replays/{replay_id:str}", guards=[requires("replay")], sync_to_thread=True, responses=_ONE)
    def replay_progress(self, backend: NamedDependency[Backend], replay_id: FromPath[str]) -> ReplayProgress:
        """A bulk replay's progress."""
        found = backend.run(lambda: jobs.progress(backend.reader, replay_id))
        if found is None:
            raise problem(404, f"no replay {replay_id!r}")
        return msgspec.convert(found, ReplayProgress)

    @post(
        "/replays/{replay_id:str}/cancel",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_ONE,
    )
    def cancel_replay(
        self, request: Request[Any, Any, Any], backend: NamedDependency[Backend], replay_id: FromPath[str]
    ) -> ReplayCancel:
        """Stop a running bulk replay at its next batch (of 100 events)."""
        status = backend.run(lambda: jobs.cancel(backend.reader, replay_id))
        if status is None:
            raise problem(404, f"no replay {replay_id!r}")
        audit(request, "bulk replay cancel", replay_id=replay_id)
        return ReplayCancel(replay_id=replay_id, status=status)

    @get("/dlq", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def list_dead_letters(
        self,
        backend: NamedDependency[Backend],
        source: FromQuery[str | None] = None,
        consumer: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> DeadLetterPage:
        """Dead letters, newest first, cursor-paginated."""

        def page() -> tuple[list[dict[str, Any]], str | None]:
            where = filters.dead_letter_filter(
                source=source, consumer=consumer, q=q, since=since, until=until
            )
            after, most = filters.cursor_arg(cursor), filters.limit_arg(limit)
            return operate.dead_letters.page(backend.reader, where, limit=most, after=after)

        items, next_cursor = backend.run(page)
        return DeadLetterPage(items=msgspec.convert(items, list[DeadLetter]), next_cursor=next_cursor)

    @get("/dlq/{entry_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_dead_letter(
        self, backend: NamedDependency[Backend], entry_id: FromPath[str]
    ) -> DeadLetterDetail:
        """One dead letter, with its consumer's attempts on the event."""
        record = backend.run(lambda: operate.dead_letters.show(backend.reader, entry_id))
        if record is None:
            raise problem(404, f"no dead letter {entry_id!r}")
        return msgspec.convert(record, DeadLetterDetail)

    @post(
        "/dlq/{entry_id:str}/retry",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_ONE,
    )
    def retry_dead_letter(
        self, request: Request[Any, Any, Any], backend: NamedDependency[Backend], entry_id: FromPath[str]
    ) -> Retried:
        """Send it to its consumer again, with a fresh retry budget."""
        if not backend.run(lambda: operate.dead_letters.retry(backend.writer, entry_id)):
            raise problem(404, f"no dead letter {entry_id!r}")
        audit(request, "dlq retry", dlq_id=entry_id)
        return Retried(retried=1)

    @post(
        "/dlq/retry",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_BODY,
    )
    def retry_matching(
        self,
        request: Request[Any, Any, Any],
        backend: NamedDependency[Backend],
        data: JSONBody[DeadLetterSelection],
    ) -> Retried:
        """Retry every dead letter matching the filter."""
        context = backend.writer
        retried = backend.run(lambda: operate.dead_letters.retry_matching(context, _dead_letter_filter(data)))
        audit(request, "dlq retry matching", retried=retried)
        return Retried(retried=retried)

    @delete(
        "/dlq/{entry_id:str}",
        guards=[requires("admin")],
        status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True,
        responses=_ONE,
    )
    def discard_dead_letter(
        self, request: Request[Any, Any, Any], backend: NamedDependency[Backend], entry_id: FromPath[str]
    ) -> None:
        """Drop the dead letter; the event stays stored."""
        if not backend.run(lambda: operate.dead_letters.discard(backend.reader, entry_id)):
            raise problem(404, f"no dead letter {entry_id!r}")
        audit(request, "dlq discard", dlq_id=entry_id)

    @post(
        "/dlq/purge",
        guards=[requires("admin")],
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=_BODY,
    )
    def purge_dead_letters(
        self,
        request: Request[Any, Any, Any],
        backend: NamedDependency[Backend],
        data: JSONBody[DeadLetterSelection],
    ) -> Purged:
        """Discard every dead letter matching the filter and failed before ``older_than``."""

        def purge() -> int:
            cutoff = filters.time_arg("older_than", data.older_than)
            return operate.dead_letters.purge(backend.reader, _dead_letter_filter(data), older_than=cutoff)

        purged = backend.run(purge)
        audit(request, "dlq purge", purged=purged)
        return Purged(purged=purged)

    @get("/issues", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def list_issues(
        self,
        backend: NamedDependency[Backend],
        status: FromQuery[Literal["open", "acknowledged", "resolved", "ignored"] | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> IssuePage:
        """Issues (failures grouped by consumer, error type and message; conditions alert rules watch),
        the most recently seen first."""
        items, next_cursor = backend.run(
            lambda: operate.issues.page(
                backend.reader,
                status=status,
                limit=filters.limit_arg(limit),
                after=filters.cursor_arg(cursor),
            ),
        )
        records = [issue.record() for issue in items]
        return IssuePage(items=msgspec.convert(records, list[Issue]), next_cursor=next_cursor)

    @get("/issues/{issue_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_issue(self, backend: NamedDependency[Backend], issue_id: FromPath[str]) -> IssueDetail:
        """One issue, with the newest events it touched."""
        record = backend.run(lambda: operate.issues.show(backend.reader, issue_id))
        if record is None:
            raise problem(404, f"no issue {issue_id!r}")
        return msgspec.convert(record, IssueDetail)

    @post(
        "/issues/{issue_id:str}/{action:str}",
        guards=[requires("replay")],
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses={
            **_ONE,
            # One route, two answers: the success schema is declared per status, not as a union.
            200: ResponseSpec(data_container=Issue, description="ack, resolve, ignore: the issue now"),
            202: ResponseSpec(data_container=Retried, description="retry: dead letters sent"),
        },
    )
    def change_issue(
        self,
        request: Request[Any, Any, Any],
        backend: NamedDependency[Backend],
        issue_id: FromPath[str],
        action: FromPath[Literal["ack", "resolve", "ignore", "retry"]],
    ) -> Response[Issue | Retried]:
        """Acknowledge, resolve or ignore an issue; or retry every dead letter of it (202)."""
        if action == "retry":
            context = backend.writer
            retried = backend.run(lambda: operate.issues.retry(context, issue_id))
            if retried is None:
                raise problem(404, f"no issue {issue_id!r}")
            audit(request, "issue retry", issue_id=issue_id, retried=retried)
            return Response(Retried(retried=retried), status_code=HTTP_202_ACCEPTED)
        changed = backend.run(lambda: operate.issues.set_status(backend.reader, issue_id, ACTIONS[action]))
        if changed is None:
            raise problem(404, f"no issue {issue_id!r}")
        audit(request, f"issue {action}", issue_id=issue_id)
        return Response(msgspec.convert(changed.record(), Issue))

    @get("/destinations", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def list_destinations(self, backend: NamedDependency[Backend]) -> DestinationPage:
        """Every destination (each consumer's lane) a worker has announced, by name: its state, held
        and in-flight deliveries, rate and last failure."""
        items = backend.run(lambda: operate.destinations.list_all(backend.reader))
        return DestinationPage(items=msgspec.convert(items, list[Destination]), next_cursor=None)

    @get("/destinations/{name:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_destination(self, backend: NamedDependency[Backend], name: FromPath[str]) -> Destination:
        """One destination."""
        record = backend.run(lambda: operate.destinations.show(backend.reader, name))
        if record is None:
            raise problem(404, f"no destination named {name!r}")
        return msgspec.convert(record, Destination)

    @post(
        "/destinations/{name:str}/pause",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_ONE,
    )
    def pause_destination(
        self, request: Request[Any, Any, Any], backend: NamedDependency[Backend], name: FromPath[str]
    ) -> Destination:
        """Hold every delivery of the destination (no retry spent) until it is resumed."""
        record = backend.run(lambda: operate.destinations.pause(backend.reader, name))
        if record is None:
            raise problem(404, f"no destination named {name!r}")
        audit(request, "destination pause", consumer=name)
        return msgspec.convert(record, Destination)

    @post(
        "/destinations/{name:str}/resume",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_ONE,
    )
    def resume_destination(
        self, request: Request[Any, Any, Any], backend: NamedDependency[Backend], name: FromPath[str]
    ) -> Destination:
        """Stop holding: what the destination holds starts, oldest first, at its rate."""
        record = backend.run(lambda: operate.destinations.resume(backend.reader, name))
        if record is None:
            raise problem(404, f"no destination named {name!r}")
        audit(request, "destination resume", consumer=name)
        return msgspec.convert(record, Destination)

    @post(
        "/destinations/{name:str}/dead-letter",
        guards=[requires("replay")],
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=_ONE,
    )
    def dead_letter_held(
        self, request: Request[Any, Any, Any], backend: NamedDependency[Backend], name: FromPath[str]
    ) -> DeadLettered:
        """Move every delivery the destination holds to the dead-letter queue (retry them from there)."""
        moved = backend.run(lambda: operate.destinations.dead_letter_held(backend.reader, name))
        if moved is None:
            raise problem(404, f"no destination named {name!r}")
        audit(request, "destination dead-letter held", consumer=name, moved=moved)
        return DeadLettered(moved=moved)

    @get("/stats", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def stats(self, backend: NamedDependency[Backend]) -> Stats:
        """Counts by status and source, DLQ size and the oldest dead letter."""
        return msgspec.convert(backend.run(lambda: operate.stats.summary(backend.reader)), Stats)


def _dead_letter_filter(data: DeadLetterSelection) -> DeadLetterFilter:
    return filters.dead_letter_filter(
        source=data.source,
        consumer=data.consumer,
        event_type=data.event_type,
        q=data.q,
        since=data.since,
        until=data.until,
    )


def _check_described(routes: routing.RouteTable, data: DescribedDelivery) -> list[routing.RouteVerdict]:
    """The verdicts on the delivery ``data`` describes; ``BadRequest`` names a field that cannot be used."""
    if data.body is not None and data.body_base64 is not None:
        raise BadRequest("body_base64", "give body or body_base64, not both")
    if data.body_base64 is None:
        body = (data.body or "").encode("utf-8")
    else:
        try:
            body = base64.b64decode(data.body_base64, validate=True)
        except ValueError:  # binascii.Error, or a character that is not ASCII
            raise BadRequest("body_base64", "not valid base64") from None
    try:
        return routes.check_given(data.source, body, data.headers, data.event_type, data.query)
    except BadRequest as exc:
        if exc.field != "header":
            raise
        raise BadRequest("headers", exc.reason) from None  # the CLI's --header is this body's headers


def _verdict_page(verdicts: list[routing.RouteVerdict]) -> RouteVerdictPage:
    items = msgspec.convert([verdict.record() for verdict in verdicts], list[RouteVerdict])
    return RouteVerdictPage(items=items, next_cursor=None)
