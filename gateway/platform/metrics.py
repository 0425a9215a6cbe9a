"""Prometheus metrics; their names and labels are contract (dashboards and alerts use them)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
