"""The bulk replay (``replay.BulkReplay``) as a Dramatiq job: the admin API enqueues it, a worker runs it
(never a thread in a web process, which a restart would leave "running" for a day). Its progress lives
in ``hg:replay:{id}`` with the cursor of the last event sent, so a job that a dead worker hands back
resumes there; an operator may cancel it, and it stops at its next batch."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import dramatiq
import redis
import structlog

from gateway.operate.context import Context
from gateway.operate.replay import BulkReplay
from gateway.store import keys
from gateway.store.events import EventFilter
from gateway.store.paging import Cursor

log = structlog.get_logger("hookgate.replay")

QUEUE = "replay"
#: How long a bulk replay's progress stays readable.
PROGRESS_TTL_SECONDS = 86_400
#: Events between two looks at the cancel flag and two progress writes.
BATCH = 100


def declare_replay_job(broker: dramatiq.Broker, ctx: Context) -> dramatiq.Actor[..., None]:
    """The ``bulk_replay`` actor, on its own queue; a day's time limit (Dramatiq's default is 10 min)."""

    def bulk_replay(
        replay_id: str,
        where: dict[str, Any],
        force: bool,
        consumer: str | None,
        dry_run: bool,
        ignore_filters: bool = False,
    ) -> None:
        progress = keys.bulk_replay(replay_id)
        client = ctx.client
        fields = {k.decode(): v.decode() for k, v in client.hgetall(progress).items()}  # type: ignore[union-attr]
        if fields.get("status") not in ("running", "cancelling"):
            return  # done, cancelled, or its progress expired
        after = Cursor.parse(fields["cursor"]) if fields.get("cursor") else None
        matched, sent = int(fields.get("matched", 0)), int(fields.get("sent", 0))
        status = fields["status"]
        bulk = BulkReplay(
            ctx,
            EventFilter.from_dict(where),
            force=force,
            consumer=consumer,
            dry_run=dry_run,
            ignore_filters=ignore_filters,
        )
        for summary, cursor in bulk.matching(after=after):
            if status == "cancelling":
                break
            matched += 1
            sent += bulk.send(summary.event_id)
            if matched % BATCH == 0:
                _write(client, progress, {"matched": matched, "sent": sent, "cursor": str(cursor)})
                raw: bytes | None = client.hget(progress, "status")  # type: ignore[assignment]
                status = (raw or b"").decode()
        final = "cancelled" if status == "cancelling" else "done"
        _write(
            client, progress, {"matched": matched, "sent": sent, "status": final, "finished_at": time.time()}
        )
        log.info(f"bulk replay {final}", replay_id=replay_id, matched=matched, sent=sent, dry_run=dry_run)

    return dramatiq.actor(
        actor_name="bulk_replay", queue_name=QUEUE, broker=broker, time_limit=PROGRESS_TTL_SECONDS * 1000
    )(bulk_replay)


def start(ctx: Context, replay_id: str, bulk: BulkReplay) -> None:
    """Record the replay as running and enqueue its job (``ctx`` is one that can enqueue)."""
    if ctx.replay_job is None:
        raise RuntimeError("this operator context was built without the bulk-replay job")
    fields: dict[str, str | int | float] = {
        "status": "running",
        "matched": 0,
        "sent": 0,
        "dry_run": int(bulk.dry_run),
        "started_at": time.time(),
    }
    _write(ctx.client, keys.bulk_replay(replay_id), fields)
    ctx.replay_job.send(
        replay_id, asdict(bulk.where), bulk.force, bulk.consumer, bulk.dry_run, bulk.ignore_filters
    )


def _write(client: redis.Redis, progress: str, fields: Mapping[Any, str | int | float]) -> None:
    """Progress stays readable for a day after its last change."""
    with client.pipeline(transaction=True) as pipe:
        pipe.hset(progress, mapping=fields)
        pipe.expire(progress, PROGRESS_TTL_SECONDS)
        pipe.execute()


def cancel(ctx: Context, replay_id: str) -> str | None:
    """Ask a running replay to stop at its next batch; its status then, None when there is no such one."""
    progress = keys.bulk_replay(replay_id)
    status: bytes | None = ctx.client.hget(progress, "status")  # type: ignore[assignment]
    if status is None:
        return None
    if status == b"running":
        ctx.client.hset(progress, "status", "cancelling")
        return "cancelling"
    return status.decode()  # cancelling already, or over


def progress(ctx: Context, replay_id: str) -> dict[str, Any] | None:
    from gateway.platform.timeparse import rfc3339

    raw: dict[bytes, bytes] = ctx.client.hgetall(keys.bulk_replay(replay_id))  # type: ignore[assignment]
    if not raw:
        return None
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    return {
        "replay_id": replay_id,
        "status": fields["status"],
        "dry_run": fields.get("dry_run") == "1",
        "matched": int(fields.get("matched", 0)),
        "sent": int(fields.get("sent", 0)),
        "started_at": rfc3339(float(fields["started_at"])),
        "error": fields.get("error"),
    }
