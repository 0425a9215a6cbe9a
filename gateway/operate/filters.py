"""What operators type, checked once: times, filters, cursors and limits. Every front end maps the one
error, ``BadRequest``, the same way each time: the API to 422, the CLI to exit 2, the dashboard to a
message above the list. Nothing unchecked reaches Redis."""

from __future__ import annotations

import json
from collections.abc import Sequence

from gateway.platform.timeparse import parse_time
from gateway.store.dlq import DeadLetterFilter
from gateway.store.events import STATUSES, EventFilter
from gateway.store.paging import BadCursor, Cursor


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


#: The longest ``match`` document accepted (it becomes one indexed containment query).
MAX_MATCH_CHARS = 8192


def match_arg(value: str | None) -> str | None:
    """A JSON document that matching bodies contain (PostgreSQL's ``@>``), as compact JSON text."""
    if value is None or value == "":
        return None
    if len(value) > MAX_MATCH_CHARS:
        raise BadRequest("match", f"at most {MAX_MATCH_CHARS} characters")
    try:
        document = json.loads(value)
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        text.encode("utf-8")
    except (ValueError, RecursionError, UnicodeError):
        raise BadRequest(
            "match", 'not a JSON document (e.g. {"data":{"object":{"customer":"cus_123"}}})'
        ) from None
    if not isinstance(document, dict | list) or "\\u0000" in text:
        raise BadRequest("match", "must be a JSON object or array")
    return text


def header_args(values: Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    """``Name: value`` pairs (a header the event was received with, exactly that value)."""
    pairs = []
    for value in values or ():
        name, sep, found = value.partition(":")
        if not sep or not name.strip() or any(c in name for c in " \t\r\n"):
            raise BadRequest("header", f"{value!r} is not 'Name: value'")
        pairs.append((name.strip().lower(), found.strip()))
    return tuple(pairs)


def event_filter(
    *,
    source: str | None = None,
    status: str | None = None,
    event_type: str | None = None,
    consumer: str | None = None,
    since: str | None = None,
    until: str | None = None,
    match: str | None = None,
    header: Sequence[str] | None = None,
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
        match_arg(match),
        header_args(header),
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
