"""Routing events to consumers by source and event-type globs."""

from __future__ import annotations

import pytest

from consumers import Consumer, ConsumerConfigError, Event, Registry


def noop(event: Event) -> None:
    return None


def test_routes_by_source_and_globs():
    registry = Registry()
    registry.add(Consumer("billing", "stripe", ("invoice.*",), noop))
    registry.add(Consumer("all-stripe", "stripe", (), noop))
    registry.add(Consumer("ci", "github", ("push", "pull_request"), noop))
    assert [c.name for c in registry.routes("stripe", "invoice.paid")] == ["all-stripe", "billing"]
    assert [c.name for c in registry.routes("stripe", "charge.refunded")] == ["all-stripe"]
    assert [c.name for c in registry.routes("stripe", None)] == ["all-stripe"]
    assert [c.name for c in registry.routes("github", "pull_request")] == ["ci"]
    assert registry.routes("github", "issues") == []


def test_names_are_unique():
    registry = Registry()
    registry.add(Consumer("dup", "github", (), noop))
    with pytest.raises(ConsumerConfigError, match="dup"):
        registry.add(Consumer("dup", "stripe", (), lambda e: None))


def test_event_gives_a_stable_idempotency_key_and_parsed_json():
    event = Event(
        "evt_1", "github", "push", "d", 0.0, b'{"a": [1]}', [("Content-Type", "application/json")], "ci"
    )
    assert event.idempotency_key == "evt_1:ci"
    assert event.json() == {"a": [1]}
    assert event.header("content-type") == "application/json"


def test_a_forced_replay_gets_its_own_idempotency_key():
    event = Event("evt_1", "github", "push", "d", 0.0, b"{}", [], "ci", replay=2)
    assert event.idempotency_key == "evt_1:ci:r2"
