"""Events that share a received time, as they do at the rates hookgate takes, are each listed, replayed
and bulk-replayed once: none skipped at a page or batch boundary, none repeated. Over a real
redis-server; the events are stored by the gateway's own ingest with a clock that stands still."""

from __future__ import annotations

import asyncio
import json
import time

import dramatiq
import pytest
import redis
from litestar.testing import TestClient

from gateway.config import RetentionSettings
from gateway.operate import jobs
from gateway.processes.app import create_app
from gateway.store import keys
from gateway.store.events import EventFilter
from gateway.store.ingest import Incoming, Ingestor
from tests.helpers import bearer, cli, settings_for, write_config

#: More than one batch of every walk (events 500, the bulk replay's progress 100).
TIED = 1_234


def store_tied(redis_url: str, count: int, at: float) -> set[str]:
    """``count`` events of the ``github`` source, all received at ``at``."""

    async def run() -> set[str]:
        client = redis.asyncio.Redis.from_url(redis_url)
        ingestor = Ingestor(client, RetentionSettings(), 5, clock=lambda: at)
        stored = [
            await ingestor.put_if_new(Incoming("github", b"{}", [], f"tie-{n}", "push")) for n in range(count)
        ]
        await client.aclose()
        return {s.event_id for s in stored}

    return asyncio.run(run())


@pytest.fixture
def tied(redis_url) -> set[str]:
    now = time.time()
    return (
        store_tied(redis_url, 3, now - 60)
        | store_tied(redis_url, TIED, now - 30)
        | {*store_tied(redis_url, 2, now - 10)}
    )


@pytest.fixture
def client(redis_url):
    with TestClient(create_app(settings_for(redis_url))) as test_client:
        yield test_client


def test_api_pages_through_ties_without_skipping_or_repeating(client, tied):
    seen: list[str] = []
    params = {"limit": 7}
    while True:
        page = client.get("/api/v1/events", params=params, headers=bearer("reader")).json()
        seen += [item["event_id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 7, "cursor": page["next_cursor"]}
    assert len(seen) == len(set(seen)) == len(tied) and set(seen) == tied


def test_a_cursor_the_api_did_not_hand_out_is_a_422(client):
    for cursor in ("abc", "1.5", "nan:evt_x", ":evt_x"):
        answer = client.get("/api/v1/events", params={"cursor": cursor}, headers=bearer("reader"))
        assert answer.status_code == 422 and "cursor" in answer.json()["detail"]


def test_cli_replay_since_takes_every_tied_event_once(redis_url, tied, tmp_path):
    config = str(write_config(tmp_path, ""))
    listed = cli("replay", "--config", config, "--since", "2m", "--dry-run", "--json", redis_url=redis_url)
    assert listed.returncode == 0, listed.stderr
    ids = [row["event_id"] for row in json.loads(listed.stdout)]
    assert len(ids) == len(set(ids)) == len(tied) and set(ids) == tied

    before = redis.Redis.from_url(redis_url).llen(keys.dramatiq_queue(keys.DISPATCH_QUEUE))
    sent = cli("replay", "--config", config, "--since", "2m", "--force", "--yes", redis_url=redis_url)
    assert sent.returncode == 0, sent.stderr
    assert f"replayed {len(tied)} event(s)" in sent.stdout
    store = redis.Redis.from_url(redis_url)
    assert store.llen(keys.dramatiq_queue(keys.DISPATCH_QUEUE)) == before + len(tied)
    assert {int(store.get(keys.forced_replays(i))) for i in tied} == {1}


def wait_for_replay(client: TestClient, replay_id: str, status: str = "done") -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        progress = client.get(f"/api/v1/replays/{replay_id}", headers=bearer("replayer")).json()
        if progress["status"] == status:
            return dict(progress)
        time.sleep(0.05)
    raise AssertionError(f"replay {replay_id} not {status}: {progress}")


def test_bulk_replay_sends_every_tied_event_once(client, redis_url, tied, replay_worker):
    started = client.post("/api/v1/replays", json={"force": True}, headers=bearer("replayer"))
    assert started.status_code == 202
    progress = wait_for_replay(client, started.json()["replay_id"])
    assert progress["matched"] == progress["sent"] == len(tied)
    store = redis.Redis.from_url(redis_url)
    assert {int(store.get(keys.forced_replays(i)) or 0) for i in tied} == {1}


def test_a_bulk_replay_handed_back_resumes_after_its_cursor(client, redis_url, tied, replay_worker):
    """A worker that died mid-replay left its cursor inside the run of ties: the next one picks up there."""
    operations = client.app.state.admin.writer
    walk = operations.events.iter(EventFilter())
    done = [next(walk) for _ in range(150)]
    cursor = done[-1][1]
    store = redis.Redis.from_url(redis_url)
    store.hset(
        keys.bulk_replay("rpl_resumed"),
        mapping={"status": "running", "matched": 150, "sent": 150, "cursor": str(cursor), "dry_run": 0},
    )
    store.hset(keys.bulk_replay("rpl_resumed"), "started_at", time.time())
    operations.replay_job.send("rpl_resumed", {}, True, None, False)
    progress = wait_for_replay(client, "rpl_resumed")
    assert progress["matched"] == progress["sent"] == len(tied)
    already = {summary.event_id for summary, _ in done}
    assert {i for i in tied if store.get(keys.forced_replays(i))} == tied - already


def test_a_bulk_replay_can_be_cancelled(client, redis_url, tied):
    """Cancelled before a worker takes it, it stops at once; the progress says so."""
    operations = client.app.state.admin.writer
    started = client.post("/api/v1/replays", json={"force": True}, headers=bearer("replayer"))
    replay_id = started.json()["replay_id"]
    cancelled = client.post(f"/api/v1/replays/{replay_id}/cancel", headers=bearer("replayer"))
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelling"
    assert jobs.progress(operations, replay_id)["status"] == "cancelling"
    worker = dramatiq.Worker(operations.replay_job.broker, queues={jobs.QUEUE}, worker_threads=1)
    worker.start()
    try:
        progress = wait_for_replay(client, replay_id, "cancelled")
    finally:
        worker.stop()
    assert progress["sent"] == 0
    assert client.post("/api/v1/replays/rpl_nope/cancel", headers=bearer("replayer")).status_code == 404
