"""What the ordering tests share (integration, chaos, bench): a forward target that fails some attempts
at random and takes its time, recording each attempt with its key; and the check that, for every key,
the events arrived one at a time in the order the gateway stored them."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import redis

from gateway.store import keys
from tests.helpers import TargetServer


@dataclass(frozen=True)
class Attempt:
    """One request the target got: for which event and key, when it arrived and was answered
    (``time.monotonic()``), and the status it got."""

    event_id: str
    key: str | None
    arrived: float
    answered: float
    status: int


class FlakyTarget:
    """Answers 500 to ``failure_rate`` of the requests (seeded) after a delay drawn from ``delay``
    (seconds), and 422 to a body whose ``n`` is in ``refusing`` (the destination's verdict: straight to
    the dead-letter queue); the key of a request is its JSON body's ``customer``."""

    def __init__(
        self, failure_rate: float = 0.1, delay: tuple[float, float] = (0.005, 0.05), seed: int = 1
    ) -> None:
        self.failure_rate = failure_rate
        self.delay = delay
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._attempts: list[Attempt] = []
        self.refusing: set[int] = set()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with target._lock:
                    status = 500 if target._random.random() < target.failure_rate else 200
                    pause = target._random.uniform(*target.delay)
                time.sleep(pause)
                try:
                    fields = json.loads(body)
                    key = fields.get("customer")
                    if fields.get("n") in target.refusing:
                        status = 422
                except (ValueError, AttributeError):
                    key = None
                attempt = Attempt(
                    self.headers.get("X-Hookgate-Event-Id", ""), key, arrived, time.monotonic(), status
                )
                with target._lock:
                    target._attempts.append(attempt)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = TargetServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/ordered"

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def delivered(self) -> set[str]:
        """Events that got a 2xx at least once."""
        return {a.event_id for a in self.attempts() if a.status == 200}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def stored_order(client: redis.Redis, event_ids: set[str]) -> dict[str, int]:
    """Each event's place in its source's order (``ord``), as the gateway stored it."""
    ids = sorted(event_ids)
    with client.pipeline(transaction=False) as pipe:
        for event_id in ids:
            pipe.hget(keys.event(event_id), "ord")
        found = pipe.execute()
    return {event_id: int(ord_) for event_id, ord_ in zip(ids, found, strict=True) if ord_ is not None}


@dataclass(frozen=True)
class OrderCheck:
    keys: int
    #: Keys whose events' first successes did not arrive in stored order.
    out_of_order: list[str]
    #: Attempts that arrived before the previous event of their key had its first success answered.
    overlaps: list[str]


def check_order(attempts: list[Attempt], order: dict[str, int]) -> OrderCheck:
    """Per key: the events' first successful deliveries arrive in stored order; and one at a time, every
    attempt of an event arriving after the previous event's first success was answered (no overlap)."""
    by_key: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in sorted(attempts, key=lambda a: a.arrived):
        if attempt.key is not None and attempt.event_id in order:
            by_key[attempt.key].append(attempt)
    out_of_order, overlaps = [], []
    for key, seen in by_key.items():
        first_success: dict[str, Attempt] = {}
        for attempt in seen:
            if attempt.status == 200:
                first_success.setdefault(attempt.event_id, attempt)
        succeeded = [a.event_id for a in sorted(first_success.values(), key=lambda a: a.arrived)]
        if succeeded != sorted(succeeded, key=order.__getitem__):
            out_of_order.append(key)
        events = sorted(first_success, key=order.__getitem__)
        for earlier, later in itertools.pairwise(events):
            done = first_success[earlier].answered
            early = [a for a in seen if a.event_id == later and a.arrived < done]
            if early:
                overlaps.append(f"{key}: {later} arrived before {earlier} had succeeded")
    return OrderCheck(len(by_key), out_of_order, overlaps)
