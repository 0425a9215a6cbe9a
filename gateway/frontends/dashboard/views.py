"""The dashboard's pages and actions: overview, dead letters, issues, destinations, events (with their
route test), login and logout.

Pages read through the operations service (the same one the CLI and the admin API use), in Litestar's
thread pool. Every action is a POST from a form with the CSRF token, checks the viewer's scope before
it touches anything, writes an audit line, then redirects (post/redirect/get) with a flash message.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from consumers import ConsumerConfigError
from gateway import operate
from gateway.alerts.issues import ACTIONS as ISSUE_ACTIONS
from gateway.alerts.issues import STATUSES as ISSUE_STATUSES
from gateway.frontends.dashboard.auth import PREFIX, LoginGuard, Sessions, Viewer, current_viewer, safe_next
from gateway.frontends.dashboard.charts import stacked_bars
from gateway.frontends.display import pretty_body
from gateway.frontends.operators import Operators
from gateway.frontends.tokens import TokenBook, audit
from gateway.ingest.problems import UNAVAILABLE
from gateway.operate import BadRequest, filters
from gateway.platform.connections import is_store_outage
from gateway.store.events import STATUSES

T = TypeVar("T")

PAGE_SIZE = 50
#: Bodies longer than this are cut in the event page (the API and CLI give the whole body).
BODY_DISPLAY_LIMIT = 256 * 1024
#: The overview's order: the way through, then the ends.
STATUS_ORDER = ("queued", "processing", "retrying", "dead", "processed", "filtered", "unrouted")
#: The overview counts statuses over at most this many of the hour's newest events (every 5 s per tab).
STATUS_SAMPLE = 10_000
DLQ_FILTERS = ("source", "consumer", "q", "since", "until")
EVENT_FILTERS = ("source", "status", "event_type", "consumer", "since", "until", "match", "header")


def _services(state: State) -> Operators:
    services: Operators = state.admin
    return services


async def _run(call: Callable[[], T]) -> T:
    return await sync_to_thread(call)


async def _checked(call: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run ``call`` in the thread pool: its result, or the message of the operator's unusable input
    (``BadRequest``: the dashboard's one mapping of it, shown above a list or as a flash message)."""
    try:
        return await _run(call), None
    except BadRequest as exc:
        return None, str(exc)


def _page(
    request: Request[Any, Any, Any],
    viewer: Viewer | None,
    name: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """Render a page with the layout's context; a flash message is shown once."""
    flash = request.session.pop("flash", None) if request.scope.get("session") else None
    return Template(
        template_name=name,
        context={"viewer": viewer, "flash": flash, "prefix": PREFIX, "now": time.time(), **context},
        status_code=status_code,
    )


def _flash(request: Request[Any, Any, Any], message: str) -> None:
    request.session["flash"] = message


def _back(form: Any, fallback: str) -> str:
    """The page a form came from (a dashboard path), to return to after the action."""
    return safe_next(form.get("back")) if form.get("back") else fallback


def _query(**values: str | None) -> str:
    kept = {k: v for k, v in values.items() if v}
    return "?" + urllib.parse.urlencode(kept) if kept else ""


class Access(Controller):
    """The login form and logout; everything else needs a session."""

    path = "/"

    @get("/login", include_in_schema=False)
    async def login_form(
        self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None
    ) -> Template:
        return _page(request, None, "login.html", next=safe_next(next), error=None)

    @post("/login", include_in_schema=False, status_code=303)
    async def login(self, request: Request[Any, Any, Any], state: State) -> Redirect | Template:
        form = await request.form()
        book: TokenBook = state.tokens
        target = safe_next(form.get("next"))
        guard: LoginGuard = state.login_guard
        wait = await guard.wait_seconds(request)
        if wait:
            error = f"Too many login attempts from this address; try again in {wait} s."
            return _page(request, None, "login.html", next=target, error=error, status_code=429)
        sessions: Sessions = state.sessions
        if sessions.start(request, book, str(form.get("token", ""))) is None:
            error = "That token is not valid."
            return _page(request, None, "login.html", next=target, error=error, status_code=401)
        return Redirect(target, status_code=303)

    @post("/logout", include_in_schema=False, status_code=303)
    async def logout(self, request: Request[Any, Any, Any], state: State) -> Redirect:
        sessions: Sessions = state.sessions
        await sessions.end(request)
        return Redirect(f"{PREFIX}/login", status_code=303)


class Pages(Controller):
    path = "/"
    dependencies = {"viewer": Provide(current_viewer)}  # noqa: RUF012

    # Overview

    @get("/", include_in_schema=False)
    async def overview(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Template:
        return _page(request, viewer, "overview.html", **await self._overview(state))

    @get("/overview", include_in_schema=False)
    async def overview_fragment(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Template:
        """The overview's body alone, polled by htmx."""
        return _page(request, viewer, "_overview.html", **await self._overview(state))

    async def _overview(self, state: State) -> dict[str, Any]:
        reader = _services(state).reader
        sources: list[str] = state.dashboard_sources
        now = time.time()

        def read() -> dict[str, Any]:
            return operate.stats.overview(
                reader, sources, now=now, window=state.retention_seconds, status_sample=STATUS_SAMPLE
            )

        found = await _run(read)
        activity = found.pop("activity")
        chart = stacked_bars(activity.starts, activity.per_source)
        return {**found, "chart": chart, "status_order": STATUS_ORDER}

    # Dead letters

    @get("/dlq", include_in_schema=False)
    async def dead_letters(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Template:
        values = {name: request.query_params.get(name) or "" for name in DLQ_FILTERS}
        cursor = request.query_params.get("cursor") or None
        reader = _services(state).reader

        def read() -> tuple[list[dict[str, Any]], str | None]:
            where = filters.dead_letter_filter(**values)
            return operate.dead_letters.page(reader, where, limit=PAGE_SIZE, after=filters.cursor_arg(cursor))

        found, error = await _checked(read)
        items, next_cursor = found or ([], None)
        failing, summary = await _run(
            lambda: (
                operate.stats.failing_consumers(reader, now=time.time(), window=state.retention_seconds),
                operate.stats.dead_letter_summary(reader),
            )
        )
        return _page(
            request,
            viewer,
            "dlq.html",
            status_code=422 if error else 200,
            error=error,
            filters=values,
            items=items,
            first_page=cursor is None,
            next_url=f"{PREFIX}/dlq{_query(**values, cursor=next_cursor)}" if next_cursor else None,
            query=_query(**values),
            consumers=[row["consumer"] for row in failing],
            summary=summary,
        )

    @post("/dlq/retry", include_in_schema=False, status_code=303)
    async def retry(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Redirect:
        """Retry the selected dead letters, each with a fresh retry budget."""
        viewer.need("replay")
        writer = _services(state).writer
        return await _each_selected(
            request, lambda i: operate.dead_letters.retry(writer, i), "Retried", "dlq retry"
        )

    @post("/dlq/discard", include_in_schema=False, status_code=303)
    async def discard(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Redirect:
        """Drop the selected dead letters; their events stay stored."""
        viewer.need("admin")
        reader = _services(state).reader
        return await _each_selected(
            request, lambda i: operate.dead_letters.discard(reader, i), "Discarded", "dlq discard"
        )

    @post("/dlq/retry-matching", include_in_schema=False, status_code=303)
    async def retry_matching(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Redirect:
        """Retry every dead letter matching the list's filter (all pages)."""
        viewer.need("replay")
        form = await request.form()
        values = {name: str(form.get(name) or "") for name in DLQ_FILTERS}
        where, error = await _checked(lambda: filters.dead_letter_filter(**values))
        if where is None:
            _flash(request, f"Nothing retried: {error}")
            return Redirect(f"{PREFIX}/dlq{_query(**values)}", status_code=303)
        writer = _services(state).writer
        retried = await _run(lambda: operate.dead_letters.retry_matching(writer, where))
        audit(request, "dlq retry matching", retried=retried, via="dashboard", **where.__dict__)
        _flash(request, f"Retried {retried} dead letter{'s' if retried != 1 else ''} matching the filter.")
        return Redirect(f"{PREFIX}/dlq{_query(**values)}", status_code=303)

    # Issues

    @get("/issues", include_in_schema=False)
    async def issues(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Template:
        """Issues with one status (open by default), the most recently seen first."""
        status = request.query_params.get("status") or "open"
        if status not in (*ISSUE_STATUSES, "all"):
            status = "open"
        reader = _services(state).reader
        wanted = None if status == "all" else status
        items, _ = await _run(lambda: operate.issues.page(reader, status=wanted, limit=200))
        return _page(
            request,
            viewer,
            "issues.html",
            status=status,
            statuses=(*ISSUE_STATUSES, "all"),
            items=[issue.record() for issue in items],
        )

    @get("/issues/{issue_id:str}", include_in_schema=False)
    async def issue(
        self,
        request: Request[Any, Any, Any],
        state: State,
        viewer: NamedDependency[Viewer],
        issue_id: FromPath[str],
    ) -> Template:
        reader = _services(state).reader

        found = await _run(lambda: operate.issues.show(reader, issue_id, events=20))
        if found is None:
            return _page(request, viewer, "missing.html", what="issue", event_id=issue_id, status_code=404)
        return _page(request, viewer, "issue.html", issue=found, events=found["events"])

    @post("/issues/{issue_id:str}/{action:str}", include_in_schema=False, status_code=303)
    async def issue_action(
        self,
        request: Request[Any, Any, Any],
        state: State,
        viewer: NamedDependency[Viewer],
        issue_id: FromPath[str],
        action: FromPath[str],
    ) -> Redirect:
        """Acknowledge, resolve or ignore the issue, or retry every dead letter of it."""
        viewer.need("replay")
        here = f"{PREFIX}/issues/{urllib.parse.quote(issue_id, safe='')}"
        if action == "retry":
            writer = _services(state).writer
            retried = await _run(lambda: operate.issues.retry(writer, issue_id)) or 0
            audit(request, "issue retry", issue_id=issue_id, retried=retried, via="dashboard")
            _flash(request, f"Retried {retried} dead letter{'s' if retried != 1 else ''} of this issue.")
        elif action in ISSUE_ACTIONS:
            status = ISSUE_ACTIONS[action]
            reader = _services(state).reader
            changed = await _run(lambda: operate.issues.set_status(reader, issue_id, status))
            if changed is None:
                _flash(request, "That issue is gone.")
            else:
                audit(request, f"issue {action}", issue_id=issue_id, via="dashboard")
                _flash(request, f"The issue is {status}.")
        else:
            _flash(request, f"No such action {action!r}.")
        return Redirect(here, status_code=303)

    # Destinations

    @get("/destinations", include_in_schema=False)
    async def destinations(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Template:
        """Every consumer's lane: its state, what it holds, and pause, resume, move held to the DLQ."""
        reader = _services(state).reader
        items = await _run(lambda: operate.destinations.list_all(reader))
        return _page(request, viewer, "destinations.html", items=items)

    @post("/destinations/{name:str}/{action:str}", include_in_schema=False, status_code=303)
    async def destination_action(
        self,
        request: Request[Any, Any, Any],
        state: State,
        viewer: NamedDependency[Viewer],
        name: FromPath[str],
        action: FromPath[str],
    ) -> Redirect:
        """Pause or resume the destination, or move what it holds to the dead-letter queue."""
        viewer.need("replay")
        reader = _services(state).reader
        if action in ("pause", "resume"):
            act = operate.destinations.pause if action == "pause" else operate.destinations.resume
            changed = await _run(lambda: act(reader, name))
            if changed is None:
                _flash(request, f"No destination named {name!r}.")
            else:
                audit(request, f"destination {action}", consumer=name, via="dashboard")
                _flash(request, f"{name} is {changed['state']}.")
        elif action == "dead-letter":
            moved = await _run(lambda: operate.destinations.dead_letter_held(reader, name))
            if moved is None:
                _flash(request, f"No destination named {name!r}.")
            else:
                audit(request, "destination dead-letter held", consumer=name, moved=moved, via="dashboard")
                plural = "delivery" if moved == 1 else "deliveries"
                _flash(request, f"Moved {moved} held {plural} of {name} to the dead-letter queue.")
        else:
            _flash(request, f"No such action {action!r}.")
        return Redirect(f"{PREFIX}/destinations", status_code=303)

    # Events

    @get("/events", include_in_schema=False)
    async def events(
        self, request: Request[Any, Any, Any], state: State, viewer: NamedDependency[Viewer]
    ) -> Template:
        values = {name: request.query_params.get(name) or "" for name in EVENT_FILTERS}
        cursor = request.query_params.get("cursor") or None
        reader = _services(state).reader

        def read() -> tuple[list[dict[str, Any]], str | None]:
            plain = {name: value for name, value in values.items() if name != "header"}
            header = [values["header"]] if values["header"] else None
            where = filters.event_filter(**plain, header=header)
            return operate.events.page(reader, where, limit=PAGE_SIZE, after=filters.cursor_arg(cursor))

        found, error = await _checked(read)
        items, next_cursor = found or ([], None)
        return _page(
            request,
            viewer,
            "events.html",
            status_code=422 if error else 200,
            error=error,
            filters=values,
            items=items,
            first_page=cursor is None,
            next_url=f"{PREFIX}/events{_query(**values, cursor=next_cursor)}" if next_cursor else None,
            query=_query(**values),
            statuses=STATUSES,
            sources=state.dashboard_sources,
            searchable=reader.has_record,
        )

    @get("/events/{event_id:str}", include_in_schema=False)
    async def event(
        self,
        request: Request[Any, Any, Any],
        state: State,
        viewer: NamedDependency[Viewer],
        event_id: FromPath[str],
    ) -> Template:
        reader = _services(state).reader

        def read() -> dict[str, Any] | None:
            record = operate.events.show(reader, event_id)
            if record is None:
                return None
            dead = [consumer for consumer, state in record["consumers"].items() if state == "dead"]
            return {"event": record, "dead": operate.dead_letters.of_event(reader, event_id, dead)}

        found = await _run(read)
        if found is None:
            return _page(request, viewer, "missing.html", event_id=event_id, status_code=404)
        record = found["event"]
        body, is_json = _display_body(record["body"])
        timeline: dict[str, list[dict[str, Any]]] = {consumer: [] for consumer in record["consumers"]}
        for attempt in record["attempts"]:
            timeline.setdefault(attempt["consumer"], []).append(attempt)
        return _page(
            request,
            viewer,
            "event.html",
            event=record,
            body=body,
            body_is_json=is_json,
            body_cut=record["body"] is not None and len(record["body"]) > BODY_DISPLAY_LIMIT,
            timeline=timeline,
            dead=found["dead"],
        )

    @get("/events/{event_id:str}/routes", include_in_schema=False)
    async def event_routes(
        self,
        request: Request[Any, Any, Any],
        state: State,
        viewer: NamedDependency[Viewer],
        event_id: FromPath[str],
    ) -> Template:
        """The event page's route test, a fragment htmx loads: each consumer's verdict on the event as the
        configuration stands, and the request a forward would send. Nothing is sent or written. Every
        answer is a 200 that says what happened, since htmx swaps in nothing else."""
        services = _services(state)

        def check() -> list[dict[str, Any]] | None:
            found = services.routes.check_stored(services.reader, event_id)
            return None if found is None else [_shown_verdict(verdict.record()) for verdict in found]

        verdicts, error = None, None
        try:
            verdicts = await _run(check)
        except ConsumerConfigError as exc:
            error = f"The consumers cannot be loaded: {exc}"
        except Exception as exc:
            if not is_store_outage(exc):
                raise
            error = UNAVAILABLE.capitalize() + "."
        return _page(request, viewer, "_routes.html", verdicts=verdicts, error=error, event_id=event_id)

    @post("/events/{event_id:str}/replay", include_in_schema=False, status_code=303)
    async def replay(
        self,
        request: Request[Any, Any, Any],
        state: State,
        viewer: NamedDependency[Viewer],
        event_id: FromPath[str],
    ) -> Redirect:
        """Re-enqueue the event: consumers that failed, or with ``force`` every one (or just ``consumer``)."""
        viewer.need("replay")
        form = await request.form()
        force = form.get("force") == "1"
        consumer = str(form.get("consumer") or "") or None
        writer = _services(state).writer
        sent, error = await _checked(
            lambda: list(operate.replay.replay(writer, [event_id], force=force, consumer=consumer))
        )
        if error is not None:
            _flash(request, f"Not replayed: {error}.")
        else:
            if sent:
                audit(request, "replay", event_id=event_id, force=force, consumer=consumer, via="dashboard")
                _flash(
                    request,
                    "Replayed"
                    + (" (forced)" if force else "")
                    + (f" to {consumer}" if consumer else "")
                    + ".",
                )
            else:
                _flash(request, "That event is no longer stored.")
        return Redirect(f"{PREFIX}/events/{urllib.parse.quote(event_id, safe='')}", status_code=303)


async def _each_selected(
    request: Request[Any, Any, Any], act: Callable[[str], bool], verb: str, action: str
) -> Redirect:
    """Apply ``act`` to every ticked dead letter, audit it, say how many, and go back to the form's page."""
    form = await request.form()
    ids = form.getall("ids", [])
    if ids:
        done = await _run(lambda: sum(act(i) for i in ids))
        audit(request, action, dlq_ids=ids, count=done, via="dashboard")
        _flash(request, f"{verb} {done} dead letter{'s' if done != 1 else ''}.")
    else:
        _flash(request, "Nothing selected.")
    return Redirect(_back(form, f"{PREFIX}/dlq"), status_code=303)


def _shown_verdict(verdict: dict[str, Any]) -> dict[str, Any]:
    """A verdict's record with the body a forward would send pretty-printed (``shown_body``)."""
    sent = verdict["request"]
    if sent is not None:
        sent["shown_body"], sent["body_is_json"] = pretty_body(sent["body"])
        sent["cut"] = sent["body"] is not None and len(sent["body"].encode("utf-8")) < sent["size"]
    return verdict


def _display_body(text: str | None) -> tuple[str | None, bool]:
    """Pretty-printed JSON when the body is JSON, else the text as received (None for binary)."""
    return pretty_body(text, BODY_DISPLAY_LIMIT)
