"""What ``HookgateBroker`` and ``TrackingConsumer`` take from Dramatiq beyond its public API. If an
upgrade changes any of it, this fails by name before a worker loses track of a message."""

from __future__ import annotations

import inspect
from importlib import resources

import dramatiq
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.worker import _ConsumerThread

from gateway.worker.broker import HookgateBroker
from gateway.worker.holdings import TrackingConsumer


def dispatch_lua() -> str:
    return resources.files("dramatiq.brokers").joinpath("redis", "dispatch.lua").read_text()


def test_the_pinned_major_version():
    assert dramatiq.__version__.split(".")[0] == "2"


def test_the_redis_commands_and_the_ack_set_the_broker_builds_on():
    script = dispatch_lua()
    for command in ("fetch", "requeue", "enqueue"):
        assert f'command == "{command}"' in script, command
    # keys.dramatiq_acks spells this key; settle.lua and give_back.lua remove from it.
    assert 'local acks = namespace .. ":__acks__." .. worker_id' in script
    assert 'local queue_acks = acks .. "." .. queue_name' in script
    # do_fetch / do_requeue are RedisBroker.__getattr__'s calls of that script.
    assert '"do_"' in inspect.getsource(RedisBroker.__getattr__)
    dispatch = inspect.getsource(RedisBroker._dispatch)
    assert "self.broker_id" in dispatch and "queue_name" in dispatch


def test_the_consumer_interface_the_worker_calls():
    for name in ("__next__", "ack", "nack", "requeue", "close"):
        assert callable(getattr(_RedisConsumer, name)), name
        assert name in vars(TrackingConsumer), f"TrackingConsumer no longer overrides {name}"
    worker_thread = inspect.getsource(_ConsumerThread)
    for call in ("self.consumer.ack(", "self.consumer.nack(", "self.consumer.requeue("):
        assert call in worker_thread, call


def test_the_overridden_broker_methods_keep_their_signatures():
    for name in ("emit_before", "emit_after", "add_middleware"):
        ours = inspect.signature(getattr(HookgateBroker, name))
        theirs = inspect.signature(getattr(dramatiq.Broker, name))
        assert list(ours.parameters) == list(theirs.parameters), name
