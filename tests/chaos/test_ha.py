"""High availability under load, with real processes: the Redis primary SIGKILLed behind Sentinel, and a
rolling restart of every gateway and worker behind haproxy. Each counts what the senders were told
against what reached the target."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.chaos.ha import HAStack, haproxy_binary, lost
from tests.chaos.harness import Senders
from tests.conftest import need_service
from tests.helpers import wait_for


@pytest.fixture(autouse=True)
def _haproxy() -> None:
    if haproxy_binary() is None:
        need_service("no haproxy on PATH (Debian: apt-get install haproxy; make test does it as root)")


def report(tmp_path: Path, name: str, **numbers: object) -> None:
    """What the closing notes quote: printed (pytest -s) and kept beside the run's logs."""
    line = f"{name}: " + json.dumps(numbers)
    print(line)
    (tmp_path / "result.json").write_text(json.dumps({"name": name, **numbers}, indent=2))


@pytest.mark.parametrize("min_replica_acks", [1, pytest.param(0, marks=pytest.mark.long)])
def test_the_primary_killed_under_load_loses_no_acked_event_with_replica_acks(
    tmp_path: Path, min_replica_acks: int
) -> None:
    stack = HAStack(tmp_path, min_replica_acks=min_replica_acks, replicas=2)
    try:
        stack.start()  # inside: a stack that fails to start is stopped too
        senders = Senders(stack.url, rate=60)
        load = threading.Thread(target=senders.run, args=(14,))
        load.start()
        time.sleep(5)
        old_primary = stack.primary.port
        killed_at = time.monotonic()
        stack.primary.kill()
        load.join()
        gone = lost(senders, stack.target, timeout=90)
        after = [(t - killed_at, code) for t, code in senders.answers if t >= killed_at]
        refused = [t for t, code in after if code not in (200, 202)]
        acked_after = [t for t, code in after if code in (200, 202)]
        back = killed_at + (refused[-1] if refused else 0)  # the last refusal: ingest is back after it
        arrivals_after = [t - killed_at for t, _ in stack.target.arrivals if t > back]
        numbers = {
            "min_replica_acks": min_replica_acks,
            "acked": len(senders.acked),
            "lost": len(gone),
            "unavailable_503": senders.unavailable,
            "refused": senders.refused,
            "window_503_s": round(refused[-1] - refused[0], 2) if refused else 0.0,
            "ingest_resumed_s": round(min((t for t in acked_after if t > back - killed_at), default=-1), 2),
            "processing_resumed_s": round(min(arrivals_after, default=-1), 2),
            "new_primary": stack.primary_port(),
        }
        report(tmp_path, "failover", **numbers)
        assert numbers["new_primary"] != old_primary, "a replica was promoted"
        assert not [f for f in senders.failed if not f.startswith(("ConnectError", "RemoteProtocolError"))], (
            senders.failed[:5]
        )
        if min_replica_acks:
            assert not gone, f"acked and lost with min_replica_acks = {min_replica_acks}: {sorted(gone)[:5]}"
        _, mixed = stack.target.repeats()
        assert not mixed, "one idempotency key per event"
    finally:
        stack.stop()


def test_a_rolling_restart_fails_no_sender_and_loses_nothing(tmp_path: Path) -> None:
    stack = HAStack(tmp_path, min_replica_acks=0, replicas=0, sentinels=False, shutdown_delay=1.0)
    try:
        stack.start()  # inside: a stack that fails to start is stopped too
        senders = Senders(stack.url, rate=40)
        load = threading.Thread(target=senders.run, args=(18,))
        load.start()
        time.sleep(2)
        for gateway, port in zip(stack.gateways, stack.gateway_ports, strict=True):
            gateway.kill(signal.SIGTERM)
            gateway.start()
            stack.wait_ready(f"http://127.0.0.1:{port}")
            time.sleep(1)  # haproxy takes it back after two good checks
        for worker in stack.workers:
            started = worker.log.read_text(errors="replace").count("worker started")
            worker.kill(signal.SIGTERM)
            worker.start()
            wait_for(
                lambda: worker.log.read_text(errors="replace").count("worker started") > started,  # noqa: B023
                timeout=30,
                message="the worker to start again",
            )
        load.join()
        gone = lost(senders, stack.target, timeout=60)
        time.sleep(2)  # late repeats, if any, arrive now
        repeats, mixed = stack.target.repeats()
        report(
            tmp_path,
            "rolling restart",
            acked=len(senders.acked),
            unavailable_503=senders.unavailable,
            failed=len(senders.failed),
            lost=len(gone),
            repeats=repeats,
        )
        assert not senders.failed, senders.failed[:5]
        assert not gone, sorted(gone)[:5]
        assert repeats == 0 and not mixed, "no event reached the target twice"
        assert "stopping: readiness fails first" in stack.gateways[0].log.read_text(errors="replace")
    finally:
        stack.stop()
