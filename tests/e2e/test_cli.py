"""The ``hookgate`` command as a user runs it: exit codes, messages, and ``dev`` end to end.

The usage errors run in-process (``cli``); ``check-config`` runs the executable, since it lists the
consumers registered in its process, and in this one other tests register theirs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from gateway.processes.dev import free_port, redis_server_binary
from tests.conftest import need_service
from tests.helpers import ROOT, cli, hookgate

EXAMPLE = ROOT / "deploy" / "hookgate.example.toml"


def test_check_config_lists_sources_and_consumers():
    result = hookgate("check-config", "--config", str(EXAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {s["name"] for s in report["sources"]} == {"github", "stripe", "billing-partner"}
    assert report["consumers"][0]["name"] == "example.log-github"
    assert "Secret to Everybody" not in result.stdout


def test_bad_config_exits_2_naming_the_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[sources.github]\nprovider = 'github'\nsecret = 's'\ntolerance_secondz = 3\n")
    result = cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "tolerance_secondz" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_env_override_exits_2():
    result = cli("check-config", "--config", str(EXAMPLE), env={"HOOKGATE_REDIS__URI": "redis://x"})
    assert result.returncode == 2
    assert "HOOKGATE_REDIS__URI" in result.stderr


def test_serve_and_worker_without_redis_url_exit_2():
    for command in ("serve", "worker"):
        result = cli(command, "--config", str(EXAMPLE))
        assert result.returncode == 2
        assert "[redis] url" in result.stderr


def test_send_test_unknown_source_exits_2():
    result = cli("send-test", "gitlab", "--config", str(EXAMPLE))
    assert result.returncode == 2
    assert "gitlab" in result.stderr and "github" in result.stderr


def test_dev_runs_everything_and_send_test_is_handled(tmp_path):
    """What `make run` does, then the printed send-test line, as a new user would."""
    try:
        redis_server_binary()
    except (FileNotFoundError, ImportError) as exc:
        need_service(f"no redis-server available: {exc}")
    port = free_port()
    log = tmp_path / "dev.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    with log.open("wb") as out:
        dev = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "dev",
                "--config",
                str(EXAMPLE),
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            env={**clean, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "send-test" not in log.read_text():
            assert dev.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        hint = next(line for line in log.read_text().splitlines() if "send-test github" in line).strip()
        assert re.search(rf"--url http://127.0.0.1:{port}", hint)
        args = hint.split()[hint.split().index("send-test") :]
        sent = hookgate(*args, cwd=ROOT)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "202" in sent.stdout
        event_id = json.loads(sent.stdout.splitlines()[-1].split(" ", 1)[1])["event_id"]
        while "example consumer handled the event" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
        assert event_id in text
        # The banner's dashboard line carries a one-run admin token (the example config has none).
        token = re.search(r"dashboard  http://\S+/dashboard   \(token for this run: (\S+)\)", text).group(1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
            form = browser.get("/dashboard/login").text
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form).group(1)
            browser.post("/dashboard/login", data={"token": token, "_csrf_token": csrf, "next": "/dashboard"})
            detail = browser.get(f"/dashboard/events/{event_id}")
            assert detail.status_code == 200 and "example.log-github" in detail.text
        assert token not in text.replace(f"token for this run: {token}", "")  # printed once, never logged
        assert (tmp_path / ".hookgate" / "appendonlydir").exists() or (
            tmp_path / ".hookgate" / "appendonly.aof"
        ).exists()
    finally:
        os.killpg(dev.pid, signal.SIGINT)
        try:
            dev.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
            pytest.fail("hookgate dev did not stop on Ctrl-C")
    assert dev.returncode == 0
    assert "stopped" in log.read_text()
