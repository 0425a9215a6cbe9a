"""What operators type, checked once: times, filters, cursors and limits. Every front end maps the one
error, ``BadRequest``, the same way each time: the API to 422, the CLI to exit 2, the dashboard to a
message above the list. Nothing unchecked reaches Redis."""

from __future__ import annotations

from consumers.dlq import DeadLetterFilter
from gateway.store.events import STATUSES, EventFilter
from gateway.store.paging import BadCursor, Cursor
from gateway.timeparse import parse_time


class BadRequest(ValueError):
    """An operator's filter, cursor or argument that cannot be used: ``field`` names it (as the API
    spells it; the CLI's option is ``--field-name``), ``reason`` says what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def option(self) -> str:
        """The message with the field spelled as the CLI's option."""
        return f"--{self.field.replace('_', '-')}: {self.reason}"


def time_arg(name: str, value: str | None) -> float | None:
    """RFC 3339 (no zone: UTC) or relative (``30s``, ``15m``, ``2h``, ``7d``)."""
    if value is None or value == "":
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise BadRequest(name, str(exc)) from None


def cursor_arg(value: str | None) -> Cursor | None:
    """A page cursor as a list handed it out."""
    if value is None or value == "":
        return None
    try:
        return Cursor.parse(value)
    except BadCursor as exc:
        raise BadRequest("cursor", str(exc)) from None


def limit_arg(value: int, most: int = 1000) -> int:
    if not 1 <= value <= most:
        raise BadRequest("limit", f"must be between 1 and {most}")
    return value


def event_filter(
    *,
    source: str | None = None,
    status: str | None = None,
    event_type: str | None = None,
    consumer: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> EventFilter:
    if status and status not in STATUSES:
        raise BadRequest("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    return EventFilter(
        source or None,
        status or None,
        event_type or None,
        consumer or None,
        time_arg("since", since),
        time_arg("until", until),
    )


def dead_letter_filter(
    *,
    source: str | None = None,
    consumer: str | None = None,
    event_type: str | None = None,
    q: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> DeadLetterFilter:
    return DeadLetterFilter(
        source or None,
        consumer or None,
        event_type or None,
        q or None,
        time_arg("since", since),
        time_arg("until", until),
    )
