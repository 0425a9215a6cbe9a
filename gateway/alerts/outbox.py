"""Notifications waiting to be sent, kept in Redis so that a sender that dies leaves them to the next.

One item per (notification, channel): each channel is tried on its own thread, so one that is down or
slow holds back none of the others, and one that fails is tried again with backoff (5 s doubling to
5 minutes) for a day. Sending claims an item by moving its due time past the send's timeout: a process
killed mid-send leaves it due again soon after, for whoever evaluates then. The notification's id is
the same on every try (a webhook receiver sees it as ``webhook-id``) so a repeat can be recognised.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import redis
import structlog

from gateway.alerts.channels import Channel, ChannelFailed, Notification
from gateway.alerts.issues import Issue
from gateway.platform import metrics
from gateway.store import keys, scripts

log = structlog.get_logger("hookgate.alerts")

#: Taking due items pushes them this far ahead: longer than any channel's timeout (at most 60 s).
CLAIM_SECONDS = 90
GIVE_UP_SECONDS = 86_400


def item_id(notification_id: str, channel: str) -> str:
    return f"{notification_id}:{channel}"


def encode(notification: Notification, channel: str, now: float) -> dict[str, str]:
    """The outbox item's fields."""
    return {
        "channel": channel,
        "notification": json.dumps(
            {
                "id": notification.id,
                "kind": notification.kind,
                "rule": notification.rule,
                "link": notification.link,
                "issue": asdict(notification.issue),
            }
        ),
        "created_at": repr(now),
        "attempts": "0",
    }


def _decode(raw: dict[bytes, bytes]) -> tuple[str, Notification, float, int]:
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    data: dict[str, Any] = json.loads(fields["notification"])
    notification = Notification(data["id"], data["kind"], data["rule"], Issue(**data["issue"]), data["link"])
    return fields["channel"], notification, float(fields["created_at"]), int(fields["attempts"])


class Outbox:
    """Sends what is due, each (notification, channel) once, retrying failures."""

    def __init__(self, client: redis.Redis, channels: dict[str, Channel]) -> None:
        self._client = client
        self._channels = channels
        self._claim = scripts.register(client, "outbox_claim")
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, min(8, len(channels))), thread_name_prefix="hookgate-notify"
        )
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    def send_due(self, now: float, batch: int = 50) -> int:
        """Hand every due item to a sending thread; returns at once. How many were handed."""
        due: list[bytes] = self._claim(keys=[keys.OUTBOX], args=[repr(now), repr(now + CLAIM_SECONDS), batch])
        handed = 0
        for raw_id in due:
            identifier = raw_id.decode()
            with self._lock:
                if identifier in self._in_flight:
                    continue
                self._in_flight.add(identifier)
            self._pool.submit(self._send, identifier)
            handed += 1
        return handed

    def wait_idle(self, timeout: float = 30) -> None:
        """For tests and shutdown: until no send is in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._in_flight:
                    return
            time.sleep(0.02)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _send(self, identifier: str) -> None:
        try:
            raw: dict[bytes, bytes] = self._client.hgetall(keys.outbox_item(identifier))  # type: ignore[assignment]
            if not raw:
                self._client.zrem(keys.OUTBOX, identifier)
                return
            channel_name, notification, created_at, attempts = _decode(raw)
            channel = self._channels.get(channel_name)
            try:
                if channel is None:
                    raise ChannelFailed(f"no channel named {channel_name!r} is configured")
                channel.send(notification)
            except Exception as exc:  # a channel's own bug is as much a failure to deliver as a refusal
                self._failed(identifier, channel_name, notification, created_at, attempts + 1, exc)
                return
            with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(keys.outbox_item(identifier))
                pipe.zrem(keys.OUTBOX, identifier)
                pipe.execute()
            metrics.ALERTS_SENT.labels(channel_name, "sent").inc()
            log.info(
                "notification sent",
                channel=channel_name,
                notification=notification.id,
                kind=notification.kind,
                issue=notification.issue.id,
            )
        except redis.RedisError as exc:  # left claimed: due again after CLAIM_SECONDS
            log.warning("outbox unavailable", item=identifier, error_type=type(exc).__name__, error=str(exc))
        finally:
            with self._lock:
                self._in_flight.discard(identifier)

    def _failed(
        self,
        identifier: str,
        channel: str,
        notification: Notification,
        created_at: float,
        attempts: int,
        exc: Exception,
    ) -> None:
        now = time.time()
        if now - created_at > GIVE_UP_SECONDS:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(keys.outbox_item(identifier))
                pipe.zrem(keys.OUTBOX, identifier)
                pipe.execute()
            metrics.ALERTS_SENT.labels(channel, "gave_up").inc()
            log.error(
                "notification given up after a day",
                channel=channel,
                notification=notification.id,
                error=str(exc),
            )
            return
        delay = min(300.0, 5.0 * 2 ** (attempts - 1))
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.outbox_item(identifier), "attempts", attempts)
            pipe.zadd(keys.OUTBOX, {identifier: now + delay})
            pipe.execute()
        metrics.ALERTS_SENT.labels(channel, "failed").inc()
        log.warning(
            "notification not delivered; will retry",
            channel=channel,
            notification=notification.id,
            attempt=attempts,
            retry_in_s=delay,
            error_type=type(exc).__name__,
            error=str(exc),
        )
