"""Alert evaluation as a background chore of every worker and gateway process: the one holding the
``alerts`` lease evaluates every ``[issues] evaluate_every_seconds``; if it dies, another takes over once
the lease lapses (three rounds, at least 5 s), so the hand-over takes at most about four rounds."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import dramatiq
import redis
import structlog

from gateway.alerts.channels import Channel, build_channel
from gateway.alerts.evaluator import Evaluator, LeaseLost, redis_unavailable_notification
from gateway.config import Settings
from gateway.platform import metrics
from gateway.platform.connections import is_outage
from gateway.platform.periodic import Periodic
from gateway.store.lease import Lease

log = structlog.get_logger("hookgate.alerts")


def build_channels(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, Channel]:
    return {name: build_channel(name, channel, environ) for name, channel in settings.channels.items()}


class AlertService(Periodic):
    """Evaluates alerts while this process holds the lease. If Redis goes away while it does, it alone
    tells the ``redis_unavailable`` rules' channels, straight from memory, and again when Redis is back.
    ``clock`` (unix seconds) stamps both, so tests pass their own instead of sleeping."""

    name = "alerts"

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        channels: dict[str, Channel] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(settings.issues.evaluate_every_seconds)
        lease = Lease(client, "alerts", ttl_seconds=max(3 * self.interval, 5.0))
        self.evaluator = Evaluator(
            client, settings, channels if channels is not None else build_channels(settings), lease, clock
        )
        self._clock = clock
        self._redis_rules = [rule for rule in settings.alerts if rule.when == "redis_unavailable"]
        for channel in self.evaluator.channels:  # every series from the start, so increase() sees the first
            for outcome in ("sent", "failed", "gave_up"):
                metrics.ALERTS_SENT.labels(channel, outcome)
        self._holding = False
        self._down_since: float | None = None
        self._told: set[str] = set()

    def tick(self) -> None:
        try:
            self._holding = self.evaluator.lease.acquire()
            if self._holding:
                self._redis_answers()
                self.evaluator.tick()
        except LeaseLost:
            self._holding = False
        except Exception as exc:
            if is_outage(exc) and self._holding:
                self._redis_silent()
            raise

    def stop(self) -> None:
        super().stop()
        self.evaluator.outbox.close()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stop()

    def _redis_silent(self) -> None:
        now = self._clock()
        self._down_since = self._down_since or now
        for rule in self._redis_rules:
            if rule.name not in self._told and now - self._down_since >= rule.window_seconds:
                self._tell(rule.name, "opened", now)

    def _redis_answers(self) -> None:
        if self._down_since is None:
            return
        now = self._clock()
        for rule_name in sorted(self._told):
            self._tell(rule_name, "resolved", now)
        self._down_since = None

    def _tell(self, rule_name: str, kind: str, now: float) -> None:
        rule = next(r for r in self._redis_rules if r.name == rule_name)
        assert self._down_since is not None
        notification = redis_unavailable_notification(rule, kind, self._down_since, now)
        for channel in rule.channels:
            try:
                self.evaluator.channels[channel].send(notification)
            except Exception as exc:
                log.error(
                    "could not tell a channel that redis is unavailable", channel=channel, error=str(exc)
                )
        if kind == "opened":
            self._told.add(rule_name)
        else:
            self._told.discard(rule_name)
