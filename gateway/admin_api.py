"""The admin API under ``/api/v1``: bearer tokens with scopes, the same operations the CLI runs."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import redis
import structlog
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from consumers.dlq import DeadLetterFilter
from gateway.alerts.issues import ACTIONS
from gateway.connections import REDIS_ERRORS, is_outage
from gateway.operations import BadRequest, EventFilter, Operations, build_operations, parse_cursor
from gateway.problems import problem
from gateway.settings import Settings
from gateway.store import keys
from gateway.timeparse import parse_time, rfc3339
from gateway.tokens import audit, requires

log = structlog.get_logger("hookgate.admin")

#: How long a bulk replay's progress stays readable.
REPLAY_TTL_SECONDS = 86_400


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


class AdminServices:
    """Built lazily: reading needs a Redis client; enqueueing also needs the actors and consumers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()

    @functools.cached_property
    def reader(self) -> Operations:
        return build_operations(self._settings)

    @functools.cached_property
    def writer(self) -> Operations:
        with self._lock:
            return build_operations(self._settings, can_enqueue=True)


def _time(name: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise problem(422, f"{name}: {exc}") from None


def _services(state: State) -> AdminServices:
    services: AdminServices = state.admin
    return services


def _guarded(call: Any) -> Any:
    """Run a store operation: unusable input is a 422, an unreachable Redis a 503 with Retry-After; any
    other error is a bug (500, logged)."""
    try:
        return call()
    except BadRequest as exc:
        raise problem(422, str(exc)) from None
    except Exception as exc:
        if not is_outage(exc):
            raise
        raise problem(
            503, "the event store is unavailable; retry later", headers={"Retry-After": "5"}
        ) from None


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
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Events, newest first, cursor-paginated."""
        if not 1 <= limit <= 1000:
            raise problem(422, "limit: must be between 1 and 1000")
        where = EventFilter(
            source, status, event_type, consumer, _time("since", since), _time("until", until)
        )
        items, next_cursor = _guarded(
            lambda: _services(state).reader.list_events(where, limit=limit, cursor=cursor)
        )
        return {"items": items, "next_cursor": next_cursor}

    @get("/events/{event_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_event(self, state: State, event_id: FromPath[str]) -> dict[str, Any]:
        """One event: metadata, headers, body and attempts per consumer."""
        record = _guarded(lambda: _services(state).reader.get_event(event_id))
        if record is None:
            raise problem(404, f"no event {event_id!r}")
        return record  # type: ignore[no-any-return]

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
        if (
            data.consumer is not None
            and operations.registry
            and operations.registry.get(data.consumer) is None
        ):
            raise problem(422, f"consumer: no consumer named {data.consumer!r}")
        sent = _guarded(lambda: list(operations.replay([event_id], force=data.force, consumer=data.consumer)))
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
        """Replay every event matching the filter, in the background; poll ``/replays/{id}``."""
        where = EventFilter(
            data.source,
            data.status,
            data.event_type,
            data.consumer,
            _time("since", data.since),
            _time("until", data.until),
        )
        operations = _services(state).reader if data.dry_run else _services(state).writer
        replay_id = "rpl_" + os.urandom(8).hex()
        progress = keys.bulk_replay(replay_id)
        client: redis.Redis = operations.client
        _guarded(
            lambda: client.hset(
                progress,
                mapping={
                    "status": "running",
                    "sent": 0,
                    "dry_run": int(data.dry_run),
                    "started_at": time.time(),
                },
            )
        )
        client.expire(progress, REPLAY_TTL_SECONDS)
        threading.Thread(
            target=_run_bulk_replay,
            args=(operations, where, data, progress),
            name=f"replay-{replay_id}",
            daemon=True,
        ).start()
        audit(request, "bulk replay", replay_id=replay_id, dry_run=data.dry_run, force=data.force)
        return {"replay_id": replay_id}

    @get("/replays/{replay_id:str}", guards=[requires("replay")], sync_to_thread=True, responses=_ONE)
    def replay_progress(self, state: State, replay_id: FromPath[str]) -> dict[str, Any]:
        """A bulk replay's progress."""
        raw = _guarded(lambda: _services(state).reader.client.hgetall(keys.bulk_replay(replay_id)))
        if not raw:
            raise problem(404, f"no replay {replay_id!r}")
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        return {
            "replay_id": replay_id,
            "status": fields["status"],
            "dry_run": fields.get("dry_run") == "1",
            "matched": int(fields["matched"]) if "matched" in fields else None,
            "sent": int(fields.get("sent", 0)),
            "started_at": rfc3339(float(fields["started_at"])),
            "error": fields.get("error"),
        }

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
        if not 1 <= limit <= 1000:
            raise problem(422, "limit: must be between 1 and 1000")
        where = DeadLetterFilter(source, consumer, None, q, _time("since", since), _time("until", until))
        items, next_cursor = _guarded(
            lambda: _services(state).reader.list_dead_letters(where, limit=limit, cursor=cursor)
        )
        return {"items": items, "next_cursor": next_cursor}

    @get("/dlq/{entry_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_dead_letter(self, state: State, entry_id: FromPath[str]) -> dict[str, Any]:
        record = _guarded(lambda: _services(state).reader.get_dead_letter(entry_id))
        if record is None:
            raise problem(404, f"no dead letter {entry_id!r}")
        return record  # type: ignore[no-any-return]

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
        if not _guarded(lambda: _services(state).writer.dead_letters.retry(entry_id)):
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
        where = _dead_letter_filter(data)
        dead_letters = _services(state).writer.dead_letters
        retried = _guarded(lambda: dead_letters.retry_matching(where))
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
        if not _guarded(lambda: _services(state).reader.dead_letters.discard(entry_id)):
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
        where = _dead_letter_filter(data)
        cutoff = _time("older_than", data.older_than)
        purged = _guarded(lambda: _services(state).reader.dead_letters.purge(where, older_than=cutoff))
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
        if not 1 <= limit <= 1000:
            raise problem(422, "limit: must be between 1 and 1000")
        items, next_cursor = _guarded(
            lambda: _services(state).reader.issues.page(
                status=status, limit=limit, cursor=parse_cursor(cursor)
            )
        )
        return {"items": [issue.record() for issue in items], "next_cursor": next_cursor}

    @get("/issues/{issue_id:str}", guards=[requires("read")], sync_to_thread=True, responses=_ONE)
    def show_issue(self, state: State, issue_id: FromPath[str]) -> dict[str, Any]:
        """One issue, with the newest events it touched."""
        issues = _services(state).reader.issues
        issue = _guarded(lambda: issues.get(issue_id))
        if issue is None:
            raise problem(404, f"no issue {issue_id!r}")
        return {**issue.record(), "events": _guarded(lambda: issues.events(issue_id))}

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
            if _guarded(lambda: issues.get(issue_id)) is None:
                raise problem(404, f"no issue {issue_id!r}")
            retried = _guarded(lambda: issues.retry_dead_letters(issue_id))
            audit(request, "issue retry", issue_id=issue_id, retried=retried)
            return Response({"retried": retried}, status_code=HTTP_202_ACCEPTED)
        changed = _guarded(lambda: _services(state).reader.issues.set_status(issue_id, ACTIONS[action]))
        if changed is None:
            raise problem(404, f"no issue {issue_id!r}")
        audit(request, f"issue {action}", issue_id=issue_id)
        return Response(changed.record())

    @get("/stats", guards=[requires("read")], sync_to_thread=True, responses=_errors())
    def stats(self, state: State) -> dict[str, Any]:
        """Counts by status and source, DLQ size and the oldest dead letter."""
        return _guarded(lambda: _services(state).reader.stats())  # type: ignore[no-any-return]


def _dead_letter_filter(data: DeadLetterSelection) -> DeadLetterFilter:
    return DeadLetterFilter(
        data.source,
        data.consumer,
        data.event_type,
        data.q,
        _time("since", data.since),
        _time("until", data.until),
    )


def _run_bulk_replay(operations: Operations, where: EventFilter, data: ReplayFilter, progress: str) -> None:
    client = operations.client
    try:
        if data.dry_run:
            client.hset(
                progress,
                mapping={"matched": sum(1 for _ in operations.matching_ids(where)), "status": "done"},
            )
            return
        sent = 0
        for _ in operations.replay(operations.matching_ids(where), force=data.force, consumer=data.consumer):
            sent += 1
            if sent % 100 == 0:
                client.hset(progress, "sent", sent)
        client.hset(progress, mapping={"sent": sent, "matched": sent, "status": "done"})
    except Exception as exc:
        log.error("bulk replay failed", progress=progress, error=f"{type(exc).__name__}: {exc}")
        with contextlib.suppress(*REDIS_ERRORS):
            client.hset(progress, mapping={"status": "failed", "error": f"{type(exc).__name__}: {exc}"})
