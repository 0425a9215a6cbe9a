"""A Redis lease: elects the one process that runs a singleton chore (the reconciler)."""

from __future__ import annotations

import os
import socket
import uuid

import redis

from gateway.store import keys


class Lease:
    """At most one holder at a time; the lease lapses ``ttl_seconds`` after its holder's last renewal."""

    _TAKE = """
local holder = redis.call('GET', KEYS[1])
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
    _DROP = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

    def __init__(self, client: redis.Redis, name: str, ttl_seconds: float, holder: str | None = None) -> None:
        self.key = keys.lease(name)
        # Host and pid first, so an operator (or a test) can tell which process holds it.
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.ttl_ms = int(ttl_seconds * 1000)
        self._take = client.register_script(self._TAKE)
        self._drop = client.register_script(self._DROP)

    def acquire(self) -> bool:
        """Take the lease if free, or renew it if held; False while another process holds it."""
        return bool(self._take(keys=[self.key], args=[self.holder, self.ttl_ms]))

    def release(self) -> None:
        self._drop(keys=[self.key], args=[self.holder])
