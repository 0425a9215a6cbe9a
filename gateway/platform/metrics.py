"""Prometheus metrics; their names and labels are contract (dashboards and alerts use them).

With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve --workers N``, ``dev``, the image), prometheus-client keeps
each process's values in files in that folder, opened as each metric is created, the unlabelled ones
below at import. So importing this module first makes the folder, or raises MetricsDirError saying why
it cannot be used (the variable names the folder: prometheus-client reads it, not our settings).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from gateway.config import ConfigError

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsDirError(ConfigError):
    """``PROMETHEUS_MULTIPROC_DIR`` names a folder this process can neither create nor write to."""


def prepare_multiprocess_dir(environ: Mapping[str, str]) -> Path | None:
    """The multiprocess folder, created when missing (the image sets the variable and nothing else makes
    the folder); None when the variable is not set. MetricsDirError when the folder cannot be used."""
    if MULTIPROC_ENV not in environ:
        return None
    value = environ[MULTIPROC_ENV]
    advice = "make it a folder this user can write to, point the variable at one, or unset it"
    if not value:
        raise MetricsDirError(f"{MULTIPROC_ENV} is set but empty: {advice}")
    folder = Path(value)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, FileExistsError | NotADirectoryError):
            reason = "a file is in the way"
        raise MetricsDirError(
            f"{MULTIPROC_ENV}={value}: cannot make the folder for Prometheus's multiprocess metrics "
            f"({reason}): {advice}"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MetricsDirError(
            f"{MULTIPROC_ENV}={value}: this process (uid {os.getuid()}) cannot write to that folder: {advice}"
        )
    return folder


prepare_multiprocess_dir(os.environ)  # before the first metric below opens its file there

DELIVERIES = Counter(
    "hookgate_deliveries",
    "Webhook deliveries received, by source and outcome.",
    ["source", "outcome"],
)
INGEST_SECONDS = Histogram(
    "hookgate_ingest_seconds",
    "Time from request start to the answer for accepted and duplicate deliveries.",
    ["source"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
CONSUMER_ATTEMPTS = Counter(
    "hookgate_consumer_attempts",
    "Consumer runs, by consumer and outcome.",
    ["consumer", "outcome"],
)
CONSUMER_FILTERED = Counter(
    "hookgate_consumer_filtered",
    "Events a consumer declined (its filter or transformation), by consumer: an outcome, not a failure.",
    ["consumer"],
)
CONSUMER_SECONDS = Histogram(
    "hookgate_consumer_seconds",
    "Time spent in a consumer.",
    ["consumer"],
)
RECONCILER_REPAIRS = Counter(
    "hookgate_reconciler_repairs",
    "Messages the reconciler re-enqueued for events that had lost theirs (zero in a healthy system).",
)

ALERTS_SENT = Counter(
    "hookgate_alerts_sent",
    "Notifications by channel and outcome (sent, failed: retried later, gave_up: after a day).",
    ["channel", "outcome"],
)

DLQ_ENTRIES = Gauge(
    "hookgate_dlq_entries",
    "Dead letters waiting, by consumer (read from Redis when /metrics is scraped).",
    ["consumer"],
    multiprocess_mode="mostrecent",
)
QUEUE_LAG = Gauge(
    "hookgate_queue_lag_seconds",
    "Age of the oldest message waiting in the dispatch and deliver queues (0 when they are empty).",
    multiprocess_mode="mostrecent",
)

DESTINATION_STATE = Gauge(
    "hookgate_destination_state",
    "1 for each destination's current state (closed, open, half-open, paused), 0 for the others (read "
    "from Redis when /metrics is scraped).",
    ["consumer", "state"],
    multiprocess_mode="mostrecent",
)
DESTINATION_HELD = Gauge(
    "hookgate_destination_held",
    "Deliveries a destination holds (breaker open, paused, over its rate or in-flight bound), by consumer.",
    ["consumer"],
    multiprocess_mode="mostrecent",
)
DESTINATION_IN_FLIGHT = Gauge(
    "hookgate_destination_in_flight",
    "Deliveries a destination has started and not yet settled, by consumer.",
    ["consumer"],
    multiprocess_mode="mostrecent",
)
ORDERING_BLOCKED_KEYS = Gauge(
    "hookgate_ordering_blocked_keys",
    "Keys of an ordered destination whose delivery failed (retrying, or dead-lettered with on_dead = "
    "hold): their later deliveries wait, by consumer.",
    ["consumer"],
    multiprocess_mode="mostrecent",
)

RECORD_BACKLOG = Gauge(
    "hookgate_record_backlog",
    "Events new or changed in Redis and not yet written to the record (PostgreSQL; 0 without [record]).",
    multiprocess_mode="mostrecent",
)

OUTCOMES = (
    "accepted",
    "duplicate",
    "rejected_signature",
    "too_large",
    "rate_limited",
    "forbidden",
    "unavailable",
)
