"""A gateway told to stop (SIGTERM) fails readiness first, keeps serving for shutdown_delay_seconds,
then finishes and exits: a load balancer has time to stop sending it requests."""

from __future__ import annotations

import os
import signal
import time

import httpx

from tests.helpers import post


def test_sigterm_fails_readiness_first_then_stops(redis_url, start_gateway) -> None:
    gateway = start_gateway(redis_url, env={"HOOKGATE_GATEWAY__SHUTDOWN_DELAY_SECONDS": "1.5"})
    assert httpx.get(f"{gateway.url}/readyz").status_code == 200
    os.killpg(gateway.proc.pid, signal.SIGTERM)
    time.sleep(0.3)
    ready = httpx.get(f"{gateway.url}/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"]
    assert httpx.get(f"{gateway.url}/healthz").status_code == 200, "alive: not to be restarted"
    post(gateway.url)  # still accepting while the load balancer notices
    assert gateway.proc.poll() is None
    gateway.proc.wait(10)
    assert "stopping: readiness fails first" in gateway.output()
