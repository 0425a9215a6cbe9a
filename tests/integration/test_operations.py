"""`hookgate events`, `dlq`, `replay` and `issues` as operators run them, against a real redis-server,
gateway and worker. Most calls run the command in-process (``cli``); every group also runs the installed
executable (``hookgate``), which the commands that enqueue always use."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import time

import redis

from gateway.store import keys
from tests.helpers import (
    HOOKGATE,
    ROOT,
    cli,
    forward,
    hookgate,
    hooks_recorded,
    post,
    status,
    wait_for,
    write_config,
)


def test_events_list_show_filter_and_stats(tmp_path, redis_url, sink, start_gateway, start_worker):
    config = write_config(tmp_path, forward("fine", sink.url("/fine")))
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    first = post(gateway.url, body=b'{"first": true}')
    second = post(gateway.url, "solo", b"solo-secret", b'{"fail": 0}')
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: status(client, first) == status(client, second) == "processed", message="processed")

    listed = cli("events", "list", "--config", str(config), "--json", redis_url=redis_url)
    assert listed.returncode == 0, listed.stderr
    assert [e["event_id"] for e in json.loads(listed.stdout)] == [second, first]
    only_hooks = json.loads(
        cli(
            "events", "list", "--config", str(config), "--source", "hooks", "--json", redis_url=redis_url
        ).stdout
    )
    assert [e["event_id"] for e in only_hooks] == [first]
    by_consumer = json.loads(
        cli(
            "events", "list", "--config", str(config), "--consumer", "fine", "--json", redis_url=redis_url
        ).stdout
    )
    assert [e["event_id"] for e in by_consumer] == [first]
    future = json.loads(
        cli(
            "events", "list", "--config", str(config), "--since", "2999-01-01", "--json", redis_url=redis_url
        ).stdout
    )
    assert future == []

    shown = json.loads(
        cli("events", "show", first, "--config", str(config), "--json", redis_url=redis_url).stdout
    )
    assert shown["body"] == '{"first": true}' and shown["status"] == "processed"
    assert shown["consumers"] == {"fine": "processed", "test.hooks-recorder": "processed"}
    assert {a["outcome"] for a in shown["attempts"]} >= {"started", "succeeded"}
    human = cli("events", "show", first, "--config", str(config), redis_url=redis_url)
    assert human.returncode == 0 and '"first": true' in human.stdout

    stats = json.loads(cli("events", "stats", "--config", str(config), "--json", redis_url=redis_url).stdout)
    assert stats["events"] == 2 and stats["by_status"] == {"processed": 2} and stats["dlq_size"] == 0
    assert stats["reconciler_repairs"] == 0


def test_bad_filters_and_unknown_ids_say_so(tmp_path, redis_url):
    config = write_config(tmp_path, "")
    bad = cli("events", "list", "--config", str(config), "--since", "yesterday-ish", redis_url=redis_url)
    assert bad.returncode == 2 and "--since" in bad.stderr and "yesterday-ish" in bad.stderr
    unknown = cli("events", "show", "evt_nope", "--config", str(config), redis_url=redis_url)
    assert unknown.returncode == 1 and "evt_nope" in unknown.stderr
    missing = cli("dlq", "show", "dlq_nope", "--config", str(config), redis_url=redis_url)
    assert missing.returncode == 1 and "dlq_nope" in missing.stderr
    unconfirmed = cli("dlq", "purge", "--config", str(config), redis_url=redis_url)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr


def test_dlq_list_show_retry_discard_and_purge(tmp_path, redis_url, sink, start_gateway, start_worker):
    config = write_config(tmp_path, forward("later", sink.url("/later"), max_retries=0))
    sink.plan("/later", 500, 500, 500)
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    events = [post(gateway.url) for _ in range(3)]
    client = redis.Redis.from_url(redis_url)
    wait_for(
        lambda: all(status(client, e) == "dead" for e in events), timeout=20, message="three dead letters"
    )

    listed = json.loads(cli("dlq", "list", "--config", str(config), "--json", redis_url=redis_url).stdout)
    assert sorted(e["event_id"] for e in listed) == sorted(events)
    entry = {e["event_id"]: e["id"] for e in listed}
    shown = json.loads(
        cli("dlq", "show", entry[events[0]], "--config", str(config), "--json", redis_url=redis_url).stdout
    )
    assert shown["consumer"] == "later" and "500" in shown["error"] and shown["history"]

    retried = hookgate("dlq", "retry", entry[events[0]], "--config", str(config), redis_url=redis_url)
    assert retried.returncode == 0, retried.stderr
    wait_for(lambda: status(client, events[0]) == "processed", timeout=20, message="the retried event")

    discarded = cli("dlq", "discard", entry[events[1]], "--config", str(config), redis_url=redis_url)
    assert discarded.returncode == 0 and status(client, events[1]) == "processed"
    assert client.exists(keys.event(events[1])), "discard keeps the event"

    purged = cli("dlq", "purge", "--consumer", "later", "--yes", "--config", str(config), redis_url=redis_url)
    assert purged.returncode == 0 and "purged 1" in purged.stdout
    assert json.loads(cli("dlq", "list", "--config", str(config), "--json", redis_url=redis_url).stdout) == []


def test_replay_default_force_dry_run_and_consumer(tmp_path, redis_url, sink, start_gateway, start_worker):
    config = write_config(tmp_path, forward("target", sink.url("/target"), max_retries=0))
    sink.plan("/target", 500)
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    client = redis.Redis.from_url(redis_url)
    failed = post(gateway.url)  # the target answers 500 once: dead
    wait_for(lambda: status(client, failed) == "dead", message="dead")
    ok = post(gateway.url)
    wait_for(lambda: status(client, ok) == "processed", message="processed")
    assert len(sink.to("/target")) == 2

    dry = cli(
        "replay",
        "--source",
        "hooks",
        "--since",
        "1h",
        "--dry-run",
        "--json",
        "--config",
        str(config),
        redis_url=redis_url,
    )
    assert dry.returncode == 0, dry.stderr
    assert sorted(e["event_id"] for e in json.loads(dry.stdout)) == sorted([failed, ok])
    assert len(sink.to("/target")) == 2, "--dry-run enqueues nothing"

    # By default only consumers that have not succeeded run again.
    both = hookgate("replay", failed, ok, "--config", str(config), redis_url=redis_url)
    assert both.returncode == 0, both.stderr
    wait_for(lambda: status(client, failed) == "processed", message="the failed event replayed")
    assert [r.header("X-Hookgate-Event-Id") for r in sink.to("/target")].count(ok) == 1
    assert [r.header("X-Hookgate-Event-Id") for r in sink.to("/target")].count(failed) == 2

    forced = hookgate(
        "replay", ok, "--force", "--consumer", "target", "--config", str(config), redis_url=redis_url
    )
    assert forced.returncode == 0, forced.stderr
    wait_for(
        lambda: [r.header("X-Hookgate-Event-Id") for r in sink.to("/target")].count(ok) == 2, message="forced"
    )
    keys_seen = [
        r.header("Idempotency-Key") for r in sink.to("/target") if r.header("X-Hookgate-Event-Id") == ok
    ]
    assert keys_seen == [f"{ok}:target", f"{ok}:target:r1"]
    time.sleep(0.5)
    assert hooks_recorded(client, ok) == 1, "--consumer limits a forced replay to that consumer"

    assert (
        cli("replay", ok, "--source", "hooks", "--config", str(config), redis_url=redis_url).returncode == 2
    )
    assert cli("replay", "--config", str(config), redis_url=redis_url).returncode == 2
    unknown = hookgate("replay", "evt_gone", "--config", str(config), redis_url=redis_url)
    assert unknown.returncode == 1 and "not found" in unknown.stdout


def test_ctrl_c_stops_a_replay_cleanly_and_says_how_far_it_got(tmp_path, redis_url, start_gateway):
    config = write_config(tmp_path, "")
    gateway = start_gateway(redis_url, config=config)
    for n in range(30):
        post(gateway.url, "solo", b"solo-secret", json.dumps({"n": n}).encode())
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    replay = subprocess.Popen(
        [HOOKGATE, "replay", "--source", "solo", "--since", "1h", "--rate", "4", "--config", str(config)],
        cwd=ROOT,
        env={**env, "HOOKGATE_REDIS__URL": redis_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        # As at a terminal. A suite started in the background (`make test &`) runs with SIGINT ignored,
        # which every child inherits: the replay would not hear the Ctrl-C and would run to the end.
        preexec_fn=functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL),
    )
    # No worker runs: each replayed event adds a dispatch message to the 30 the posts queued. Interrupt
    # once a few went (not after a fixed sleep: the command's start-up time varies with the machine).
    client = redis.Redis.from_url(redis_url)
    queue = keys.dramatiq_queue(keys.DISPATCH_QUEUE)
    deadline = time.monotonic() + 6  # at 4 events/s the 30 take 7.5 s after the command's start-up
    while client.llen(queue) < 30 + 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    replay.send_signal(signal.SIGINT)
    out, err = replay.communicate(timeout=30)
    assert replay.returncode == 1, out + err
    found = re.search(r"stopped: replayed (\d+) of 30 event\(s\)", err)
    assert found and 5 <= int(found.group(1)) < 30
    assert "Traceback" not in err


def test_events_show_prints_bodies_json_cannot_redisplay(tmp_path, redis_url, start_gateway):
    config = write_config(tmp_path, "")
    gateway = start_gateway(redis_url, config=config)
    nested = b"[" * 30_000 + b"]" * 30_000
    for body in (nested, b'{"x": "\\ud800"}'):
        event_id = post(gateway.url, body=body)
        shown = hookgate("events", "show", event_id, "--config", str(config), redis_url=redis_url)
        assert shown.returncode == 0, shown.stderr
        assert body.decode()[:40] in shown.stdout.replace("\n", "")
        as_json = hookgate("events", "show", event_id, "--json", "--config", str(config), redis_url=redis_url)
        assert json.loads(as_json.stdout)["body"] == body.decode()


def test_issues_list_show_ack_resolve_ignore_and_retry(
    tmp_path, redis_url, sink, start_gateway, start_worker
):
    config = write_config(tmp_path, forward("down", sink.url("/down"), max_retries=0))
    sink.plan("/down", 500, 500)
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    events = [post(gateway.url), post(gateway.url)]
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: client.zcard(keys.DLQ_INDEX) == 2, message="two dead letters")
    run = functools.partial(cli, redis_url=redis_url)
    listed = json.loads(run("issues", "list", "--json", "--config", str(config)).stdout)
    [issue] = listed
    assert issue["consumer"] == "down" and issue["dead_letters"] == 2 and issue["status"] == "open"
    shown = run("issues", "show", issue["id"], "--config", str(config))
    assert "answered 500" in shown.stdout and all(e in shown.stdout for e in events)
    assert run("issues", "ack", issue["id"], "--config", str(config)).returncode == 0
    assert json.loads(
        run("issues", "list", "--status", "acknowledged", "--json", "--config", str(config)).stdout
    )
    assert run("issues", "ignore", issue["id"], "--config", str(config)).returncode == 0
    missing = run("issues", "resolve", "iss_nope", "--config", str(config))
    assert missing.returncode == 1 and "iss_nope" in missing.stderr
    retried = hookgate("issues", "retry", issue["id"], "--config", str(config), redis_url=redis_url)
    assert retried.returncode == 0 and "retried 2" in retried.stdout
    wait_for(lambda: len(sink.to("/down")) == 4, message="both delivered again")
    assert run("issues", "resolve", issue["id"], "--config", str(config)).returncode == 0
