"""``[worker]``: processes, threads, and how quickly a dead worker's messages come back."""

from __future__ import annotations

from pydantic import Field

from gateway.config.section import Section


class WorkerSettings(Section):
    processes: int = Field(default=1, ge=1)
    threads: int = Field(default=8, ge=1)
    #: A worker whose heartbeat is older than this is dead and its unacked messages are requeued.
    heartbeat_timeout_ms: int = Field(default=15_000, ge=1000)
    #: Out of a million broker commands, how many also run maintenance (requeueing dead workers' messages).
    maintenance_chance: int = Field(default=10_000, ge=0, le=1_000_000)
    #: How long an idle worker waits between polls of its queues, at most.
    idle_poll_ms: int = Field(default=25, ge=5)
    #: How often each worker moves waiting messages (retries) that are due to their queues.
    delay_poll_ms: int = Field(default=50, ge=5)
    #: How long a worker retries, while Redis is unreachable, to write a message's outcome with its
    #: acknowledgement; then it gives the message back unacknowledged, to run again.
    outcome_retry_seconds: float = Field(default=120, gt=0)
    #: An event unsettled this long with no message anywhere gets its message back (the reconciler).
    reconcile_after_seconds: float = Field(default=300, ge=1)
