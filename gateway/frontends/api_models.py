"""The admin API's request and response bodies: one type per JSON shape, so the OpenAPI document names
every body and the wire format is checked where it leaves (``msgspec.convert`` from the operator
records). Times are RFC 3339 strings; a key that may be null is always present, and the few that are
left out when empty (an attempt's ``error``, ``duration_ms``, ``traceback``) are ``UNSET``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

__all__ = [
    "Attempt",
    "BlockedKey",
    "DeadLetter",
    "DeadLetterDetail",
    "DeadLetterPage",
    "DeadLetterSelection",
    "DeadLettered",
    "DescribedDelivery",
    "Destination",
    "DestinationPage",
    "Event",
    "EventDetail",
    "EventPage",
    "Issue",
    "IssueDetail",
    "IssuePage",
    "Problem",
    "Purged",
    "ReplayCancel",
    "ReplayFilter",
    "ReplayOne",
    "ReplayProgress",
    "ReplayStarted",
    "Replayed",
    "Retried",
    "RouteVerdict",
    "RouteVerdictPage",
    "SentRequest",
    "Stats",
]


# Request bodies


@dataclass
class ReplayOne:
    force: bool = False
    consumer: str | None = None
    #: Send to every consumer the event routes to, whatever their filters say now.
    ignore_filters: bool = False


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
    ignore_filters: bool = False


@dataclass
class DeadLetterSelection:
    source: str | None = None
    consumer: str | None = None
    event_type: str | None = None
    q: str | None = None
    since: str | None = None
    until: str | None = None
    older_than: str | None = None


@dataclass
class DescribedDelivery:
    """A delivery to test the routes with: the source it arrives on, its event type, its body (``body`` as
    text or ``body_base64``; neither is an empty body), its headers as ``Name: value`` lines and its query
    string (without the ``?``)."""

    source: str
    event_type: str | None = None
    body: str | None = None
    body_base64: str | None = None
    headers: list[str] = field(default_factory=list)
    query: str = ""


# Responses

#: A header as ``[name, value]``; Litestar's schema of ``tuple[str, str]`` leaves the length open, so the
#: field states it (Litestar copies ``extra_json_schema["extra"]`` into the property's schema).
_PAIRS = Meta(
    extra_json_schema={
        "extra": {
            "items": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            }
        }
    }
)


class Problem(Struct, kw_only=True):
    """How every error is answered (RFC 9457, ``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str


class Event(Struct, kw_only=True):
    """A stored event as lists show it."""

    event_id: str
    source: str
    delivery_id: str | None
    event_type: str | None
    status: str
    received_at: str
    deliveries: int


class Attempt(Struct, kw_only=True):
    """One run of a consumer, or a step an operator took (``outcome`` says which)."""

    at: str
    consumer: str
    attempt: int
    outcome: str
    error: str | UnsetType = UNSET
    duration_ms: float | UnsetType = UNSET
    traceback: str | UnsetType = UNSET


class EventDetail(Event, kw_only=True):
    """One event: headers as ``[name, value]`` pairs in arrival order, the body as text (null when it
    is not UTF-8) and always as base64, each consumer's state and every attempt."""

    headers: Annotated[list[tuple[str, str]], _PAIRS]
    body: str | None
    body_base64: str
    consumers: dict[str, str]
    attempts: list[Attempt]


class EventPage(Struct, kw_only=True):
    items: list[Event]
    next_cursor: str | None


class DeadLetter(Struct, kw_only=True):
    """The last failure of an (event, consumer) whose retries are over."""

    id: str
    event_id: str
    consumer: str
    source: str
    event_type: str | None
    error_type: str
    error: str
    traceback: str
    attempts: int
    failed_at: str
    issue: str | None


class DeadLetterDetail(DeadLetter, kw_only=True):
    """A dead letter with that consumer's attempts on the event, oldest first."""

    history: list[Attempt]


class DeadLetterPage(Struct, kw_only=True):
    items: list[DeadLetter]
    next_cursor: str | None


class Issue(Struct, kw_only=True):
    """Failures grouped by consumer, error type and message, or a condition an alert rule watches."""

    id: str
    kind: str
    status: str
    title: str
    consumer: str | None
    source: str | None
    error_type: str | None
    message: str | None
    last_error: str | None
    last_event: str | None
    first_seen: str | None
    last_seen: str | None
    opened_at: str | None
    resolved_at: str | None
    count: int
    dead_letters: int


class IssueDetail(Issue, kw_only=True):
    """An issue with the ids of the newest events it touched."""

    events: list[str]


class IssuePage(Struct, kw_only=True):
    items: list[Issue]
    next_cursor: str | None


class BlockedKey(Struct, kw_only=True):
    """A key of an ordered destination whose delivery failed: the event holding it, that event's state
    for the destination (retrying, dead...), since when, and how many deliveries wait behind it."""

    key: str
    event_id: str
    state: str | None
    since: str
    waiting: int


class Destination(Struct, kw_only=True):
    """A consumer's lane: ``state`` is closed (normal), open (breaker tripped: held), half-open (one
    probe) or paused (by hand: held); ``breaker_state`` is the breaker's own, also while paused. An
    ordered one (``ordering``, null when not) has ``blocked_keys``, the longest blocked listed in
    ``blocked`` (10 in a list, 100 for one destination), and ``parked`` deliveries waiting for their key."""

    consumer: str
    state: Literal["closed", "open", "half-open", "paused"]
    breaker_state: Literal["closed", "open", "half-open"]
    held: int
    in_flight: int
    max_in_flight: int | None
    rate_limit: str | None
    breaker: bool
    failures: int
    opens: int
    last_error: str | None
    last_failure_at: str | None
    last_success_at: str | None
    opened_at: str | None
    reopen_at: str | None
    paused_at: str | None
    ordering: str | None = None
    on_dead: Literal["hold", "skip"] | None = None
    blocked_keys: int = 0
    parked: int = 0
    blocked: list[BlockedKey] = []


class DestinationPage(Struct, kw_only=True):
    """Every destination, by name (one page: ``next_cursor`` is null)."""

    items: list[Destination]
    next_cursor: str | None


class DeadLettered(Struct, kw_only=True):
    """How many held deliveries moved to the dead-letter queue."""

    moved: int


class Stats(Struct, kw_only=True):
    """Counts by status and by source, the oldest event, the dead-letter queue's size and age, and the
    reconciler's repairs."""

    events: int
    by_status: dict[str, int]
    by_source: dict[str, int]
    oldest_event_at: str | None
    dlq_size: int
    oldest_dlq_at: str | None
    reconciler_repairs: int


class Replayed(Struct, kw_only=True):
    event_id: str
    replayed: bool


class ReplayStarted(Struct, kw_only=True):
    replay_id: str


class ReplayProgress(Struct, kw_only=True):
    replay_id: str
    status: str
    dry_run: bool
    matched: int
    sent: int
    started_at: str
    error: str | None


class ReplayCancel(Struct, kw_only=True):
    """A bulk replay's status once asked to stop: ``cancelling`` while it runs, else how it ended."""

    replay_id: str
    status: str


class Retried(Struct, kw_only=True):
    """How many dead letters were sent to their consumer again."""

    retried: int


class Purged(Struct, kw_only=True):
    purged: int


class SentRequest(Struct, kw_only=True):
    """What a forward would send: its method, URL and headers (``[name, value]``; configured values and
    the signature are ``[redacted]``), the body as text when it is UTF-8 (else null, and ``body_base64``
    has it; the other is null) cut at 4096 characters, and its full ``size`` in bytes."""

    method: str
    url: str
    headers: Annotated[list[tuple[str, str]], _PAIRS]
    body: str | None
    body_base64: str | None
    size: int


class RouteVerdict(Struct, kw_only=True):
    """One consumer's verdict on an event: ``not routed`` (another source or event type), ``filtered``
    (its filter or transformation declined; ``reason`` says why), ``delivered`` (``request`` is what a
    forward would send) or ``error`` (its transformation failed; ``reason`` says how)."""

    consumer: str
    outcome: Literal["delivered", "filtered", "not routed", "error"]
    reason: str | None
    request: SentRequest | None


class RouteVerdictPage(Struct, kw_only=True):
    """Every consumer's verdict, in name order (one page: ``next_cursor`` is null)."""

    items: list[RouteVerdict]
    next_cursor: str | None
