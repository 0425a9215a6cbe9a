"""The admin API under ``/api/v1``: bearer tokens with scopes, the same operations the CLI runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import structlog
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from gateway.alerts.issues import ACTIONS
from gateway.frontends.tokens import audit, requires
from gateway.ingest.problems import problem, unavailable
from gateway.operate import BadRequest, Services, filters, jobs
from gateway.platform.connections import is_store_outage
from gateway.store.dlq import DeadLetterFilter

log = structlog.get_logger("hookgate.admin")

T = TypeVar("T")


@dataclass
class Problem:
    """How every error is answered (RFC 9457, ``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str


_ERRORS = {
    400: "The request could not be read (a body that is not JSON, or nests too deeply).",
    401: "No valid bearer token.",
    403: "The token lacks the scope this route needs.",
    404: "No such event, dead letter or replay.",
    413: "The request body is larger than 64 KiB.",
    422: "A parameter, filter or cursor cannot be used; the detail names it.",
    503: "The event store does not answer; retry after Retry-After seconds.",
}


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem answers a route may give: 400, 401, 403, 422 and 503 for every route (a GET's 400 is a
    request its parameters could not be read from), plus ``statuses``."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_ERRORS[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in sorted({400, 401, 403, 422, 503, *statuses})
    }


_ONE = _errors(404)
_BODY = _errors(413)
_ONE_WITH_BODY = _errors(404, 413)


@dataclass
class ReplayOne:
    force: bool = False
    consumer: str | None = None


@dataclass
class ReplayFilter:
    source: str | None = None
    status: str | None = None
    event_type: str | None = None
    consumer: str | None = None
    since: str | None = None
    until: str | None = None
    match: str | None = None
    header: list[str] | None = None
    force: bool = False
    dry_run: bool = False


@dataclass
class DeadLetterSelection:
    source: str | None = None
    consumer: str | None = None
    event_type: str | None = None
    q: str | None = None
    since: str | None = None
    until: str | None = None
    older_than: str | None = None


def _services(state: State) -> Services:
    services: Services = state.admin
    return services


def _guarded(state: State, call: Callable[[], T]) -> T:
    """Run an operation: unusable input is a 422, an unreachable store a 503 with Retry-After; any other
    error is a bug (500, logged)."""
    try:
        return call()
    except BadRequest as exc:
        raise problem(422, str(exc)) from None
    except Exception as exc:
        if not is_store_outage(exc):
            raise
        raise unavailable(state.retry_after) from None


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
        state: State,
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
    ) -> dict[str, Any]:
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
            return _services(state).reader.list_events(where, limit=most, after=after)

        items, next_cursor = _guarded(state, page)
        return {"items": items, "next_cursor": next_cursor}

    @get("/events/{event_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_event(self, state: State, event_id: FromPath[str]) -> dict[str, Any]:
        """One event: metadata, headers, body and attempts per consumer."""
        record = _guarded(state, lambda: _services(state).reader.get_event(event_id))
        if record is None:
            raise problem(404, f"no event {event_id!r}")
        return record

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
        state: State,
        event_id: FromPath[str],
        data: JSONBody[ReplayOne | None] = None,
    ) -> dict[str, Any]:
        """Re-enqueue one event."""
        data = data or ReplayOne()
        operations = _services(state).writer
        sent = _guarded(
            state, lambda: list(operations.replay([event_id], force=data.force, consumer=data.consumer))
        )
        if not sent:
            raise problem(404, f"no event {event_id!r}")
        audit(request, "replay", event_id=event_id, force=data.force, consumer=data.consumer)
        return {"event_id": event_id, "replayed": True}

    @post(
        "/replays",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_BODY,
    )
    def bulk_replay(
        self, request: Request[Any, Any, Any], state: State, data: JSONBody[ReplayFilter]
    ) -> dict[str, Any]:
        """Replay every event matching the filter, as a worker's job; poll or cancel ``/replays/{id}``."""
        services = _services(state)

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
            services.reader.check_filter(where)
            if data.consumer is not None:
                services.reader.check_consumer(data.consumer)
            operations = services.writer
            assert operations.replay_job is not None
            replay_id = "rpl_" + os.urandom(8).hex()
            jobs.start(
                operations,
                operations.replay_job,
                replay_id,
                where,
                force=data.force,
                consumer=data.consumer,
                dry_run=data.dry_run,
            )
            return replay_id

        replay_id = _guarded(state, begin)
        audit(request, "bulk replay", replay_id=replay_id, dry_run=data.dry_run, force=data.force)
        return {"replay_id": replay_id}

    @get("/replays/{replay_id:str}", guards=[requires("replay")], sync_to_thread=True, responses=_ONE)
    def replay_progress(self, state: State, replay_id: FromPath[str]) -> dict[str, Any]:
        """A bulk replay's progress."""
        found = _guarded(state, lambda: jobs.progress(_services(state).reader, replay_id))
        if found is None:
            raise problem(404, f"no replay {replay_id!r}")
        return found

    @post(
        "/replays/{replay_id:str}/cancel",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_ONE,
    )
    def cancel_replay(
        self, request: Request[Any, Any, Any], state: State, replay_id: FromPath[str]
    ) -> dict[str, Any]:
        """Stop a running bulk replay at its next batch (of 100 events)."""
        status = _guarded(state, lambda: jobs.cancel(_services(state).reader, replay_id))
        if status is None:
            raise problem(404, f"no replay {replay_id!r}")
        audit(request, "bulk replay cancel", replay_id=replay_id)
        return {"replay_id": replay_id, "status": status}

    @get("/dlq", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def list_dead_letters(
        self,
        state: State,
        source: FromQuery[str | None] = None,
        consumer: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Dead letters, newest first, cursor-paginated."""

        def page() -> tuple[list[dict[str, Any]], str | None]:
            where = filters.dead_letter_filter(
                source=source, consumer=consumer, q=q, since=since, until=until
            )
            after, most = filters.cursor_arg(cursor), filters.limit_arg(limit)
            return _services(state).reader.list_dead_letters(where, limit=most, after=after)

        items, next_cursor = _guarded(state, page)
        return {"items": items, "next_cursor": next_cursor}

    @get("/dlq/{entry_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_dead_letter(self, state: State, entry_id: FromPath[str]) -> dict[str, Any]:
        record = _guarded(state, lambda: _services(state).reader.get_dead_letter(entry_id))
        if record is None:
            raise problem(404, f"no dead letter {entry_id!r}")
        return record

    @post(
        "/dlq/{entry_id:str}/retry",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_ONE,
    )
    def retry_dead_letter(
        self, request: Request[Any, Any, Any], state: State, entry_id: FromPath[str]
    ) -> dict[str, Any]:
        """Send it to its consumer again, with a fresh retry budget."""
        if not _guarded(state, lambda: _services(state).writer.dead_letters.retry(entry_id)):
            raise problem(404, f"no dead letter {entry_id!r}")
        audit(request, "dlq retry", dlq_id=entry_id)
        return {"retried": 1}

    @post(
        "/dlq/retry",
        guards=[requires("replay")],
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=_BODY,
    )
    def retry_matching(
        self, request: Request[Any, Any, Any], state: State, data: JSONBody[DeadLetterSelection]
    ) -> dict[str, Any]:
        """Retry every dead letter matching the filter."""
        dead_letters = _services(state).writer.dead_letters
        retried = _guarded(state, lambda: dead_letters.retry_matching(_dead_letter_filter(data)))
        audit(request, "dlq retry matching", retried=retried)
        return {"retried": retried}

    @delete(
        "/dlq/{entry_id:str}",
        guards=[requires("admin")],
        status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True,
        responses=_ONE,
    )
    def discard_dead_letter(
        self, request: Request[Any, Any, Any], state: State, entry_id: FromPath[str]
    ) -> None:
        """Drop the dead letter; the event stays stored."""
        if not _guarded(state, lambda: _services(state).reader.dead_letters.discard(entry_id)):
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
        self, request: Request[Any, Any, Any], state: State, data: JSONBody[DeadLetterSelection]
    ) -> dict[str, Any]:
        """Discard every dead letter matching the filter and failed before ``older_than``."""
        dead_letters = _services(state).reader.dead_letters

        def purge() -> int:
            cutoff = filters.time_arg("older_than", data.older_than)
            return dead_letters.purge(_dead_letter_filter(data), older_than=cutoff)

        purged = _guarded(state, purge)
        audit(request, "dlq purge", purged=purged)
        return {"purged": purged}

    @get("/issues", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def list_issues(
        self,
        state: State,
        status: FromQuery[Literal["open", "acknowledged", "resolved", "ignored"] | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Issues (failures grouped by consumer, error type and message; conditions alert rules watch),
        the most recently seen first."""
        issues = _services(state).reader.issues
        items, next_cursor = _guarded(
            state,
            lambda: issues.page(
                status=status, limit=filters.limit_arg(limit), after=filters.cursor_arg(cursor)
            ),
        )
        return {"items": [issue.record() for issue in items], "next_cursor": next_cursor}

    @get("/issues/{issue_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_issue(self, state: State, issue_id: FromPath[str]) -> dict[str, Any]:
        """One issue, with the newest events it touched."""
        issues = _services(state).reader.issues
        issue = _guarded(state, lambda: issues.get(issue_id))
        if issue is None:
            raise problem(404, f"no issue {issue_id!r}")
        return {**issue.record(), "events": _guarded(state, lambda: issues.events(issue_id))}

    @post(
        "/issues/{issue_id:str}/{action:str}",
        guards=[requires("replay")],
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses={
            **_ONE,
            202: ResponseSpec(data_container=dict[str, int], description="retry: dead letters sent"),
        },
    )
    def change_issue(
        self,
        request: Request[Any, Any, Any],
        state: State,
        issue_id: FromPath[str],
        action: FromPath[Literal["ack", "resolve", "ignore", "retry"]],
    ) -> Response[dict[str, Any]]:
        """Acknowledge, resolve or ignore an issue; or retry every dead letter of it (202)."""
        if action == "retry":
            issues = _services(state).writer.issues
            if _guarded(state, lambda: issues.get(issue_id)) is None:
                raise problem(404, f"no issue {issue_id!r}")
            retried = _guarded(state, lambda: issues.retry_dead_letters(issue_id))
            audit(request, "issue retry", issue_id=issue_id, retried=retried)
            return Response({"retried": retried}, status_code=HTTP_202_ACCEPTED)
        changed = _guarded(
            state, lambda: _services(state).reader.issues.set_status(issue_id, ACTIONS[action])
        )
        if changed is None:
            raise problem(404, f"no issue {issue_id!r}")
        audit(request, f"issue {action}", issue_id=issue_id)
        return Response(changed.record())

    @get("/stats", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def stats(self, state: State) -> dict[str, Any]:
        """Counts by status and source, DLQ size and the oldest dead letter."""
        return _guarded(state, lambda: _services(state).reader.stats())


def _dead_letter_filter(data: DeadLetterSelection) -> DeadLetterFilter:
    return filters.dead_letter_filter(
        source=data.source,
        consumer=data.consumer,
        event_type=data.event_type,
        q=data.q,
        since=data.since,
        until=data.until,
    )
