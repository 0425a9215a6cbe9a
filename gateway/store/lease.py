"""A Redis lease: elects the one process that runs a singleton chore. Each chore has its own lease:
the reconciler's, the alert evaluator's and the record writer's."""

from __future__ import annotations

import os
import socket
import uuid

import redis

from gateway.store import keys, scripts


class Lease:
    """At most one holder at a time; the lease lapses ``ttl_seconds`` after its holder's last renewal."""

    def __init__(self, client: redis.Redis, name: str, ttl_seconds: float, holder: str | None = None) -> None:
        self.key = keys.lease(name)
        # Host and pid first, so an operator (or a test) can tell which process holds it.
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.ttl_ms = int(ttl_seconds * 1000)
        self._take = scripts.register(client, "lease_take")
        self._drop = scripts.register(client, "lease_release")

    def acquire(self) -> bool:
        """Take the lease if free, or renew it if held; False while another process holds it."""
        return bool(self._take(keys=[self.key], args=[self.holder, self.ttl_ms]))

    def release(self) -> None:
        self._drop(keys=[self.key], args=[self.holder])
