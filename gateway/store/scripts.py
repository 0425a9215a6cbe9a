"""Every Lua script hookgate runs, read once from ``gateway/store/lua/`` and bound to a client here.

One form for all of them: a script names its keys and constants as Lua locals, and the loader puts their
definitions in front of it. The keys are generated from ``gateway.store.keys`` (the Lua ``event_key(id)``
returns what ``keys.event(id)`` does), so a key is spelled only there; a script that takes constants from
the settings (``ingest.lua``'s TTLs) gets them the same way. Nothing is substituted inside a script.

The worker-side scripts share ``lanes.lua`` (destination lanes), ``ordering.lua`` (ordered delivery per
key) and ``record.lua`` (the processing record of events), loaded before their own text so each stays
one atomic step. redis-py's ``Script`` loads a
script again by itself when Redis has forgotten it (a restart, ``SCRIPT FLUSH``).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any, overload

import redis
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript, Script
from redis.exceptions import NoScriptError

from gateway.store import keys

#: The scripts that run on the processing record (``record.lua`` first); they read and write the keys its
#: header lists.
RECORD_SCRIPTS = ("settle", "begin", "promote", "give_back", "repair", "archived", "restore", "collect")
#: The scripts that stand alone: the hot path's store step, the rate limiter, leases, issues, the outbox.
STANDALONE_SCRIPTS = ("ingest", "rate_limit", "lease_take", "lease_release", "issue_status", "outbox_claim")
NAMES = RECORD_SCRIPTS + STANDALONE_SCRIPTS
#: What the processing record's scripts share, in the order each needs the one before.
_SHARED = ("lanes", "ordering", "record")

Constant = str | int | bool
Key = str | Callable[..., str]

#: The keys the scripts may name, by their Lua name: a constant, or a function of the key's parts.
LUA_KEYS: dict[str, Key] = {
    "event_key": keys.event,
    "states_key": keys.consumer_states,
    "attempts_key": keys.attempts,
    "done_key": keys.done,
    "carriers_key": keys.carriers,
    "forced_replays_key": keys.forced_replays,
    "status_index_key": keys.status_index,
    "counter_key": keys.counter,
    "issue_key": keys.issue,
    "issue_events_key": keys.issue_events,
    "issue_dead_letters_key": keys.issue_dead_letters,
    "consumer_health_key": keys.consumer_health,
    "dlq_entry_key": keys.dlq_entry,
    "dlq_by_consumer_key": keys.dlq_by_consumer,
    "queue_key": keys.dramatiq_queue,
    "messages_key": keys.dramatiq_messages,
    "wake_key": keys.queue_wake,
    "INDEX_ALL": keys.INDEX_ALL,
    "SOURCES": keys.SOURCES,
    "UNSETTLED": keys.UNSETTLED,
    "WAITING": keys.WAITING,
    "WAITING_MESSAGES": keys.WAITING_MESSAGES,
    "REPAIRS": keys.REPAIRS,
    "DLQ_INDEX": keys.DLQ_INDEX,
    "DLQ_CONSUMERS": keys.DLQ_CONSUMERS,
    "ISSUES": keys.ISSUES,
    "OPEN_ISSUES": keys.OPEN_ISSUES,
    "CONSUMERS": keys.CONSUMERS,
    "RECORD_ON": keys.RECORD_ON,
    "RECORD_PENDING": keys.RECORD_PENDING,
    "DISPATCH_QUEUE": keys.DISPATCH_QUEUE,
    "DISPATCH_ACTOR": keys.DISPATCH_ACTOR,
    "DELIVER_QUEUE": keys.DELIVER_QUEUE,
    "DELIVER_ACTOR": keys.DELIVER_ACTOR,
    "lane_key": keys.lane,
    "lane_held_key": keys.lane_held,
    "lane_in_flight_key": keys.lane_in_flight,
    "lane_window_key": keys.lane_window,
    "HELD_MESSAGES": keys.HELD_MESSAGES,
    "LANES_WAITING": keys.LANES_WAITING,
    "LANES": keys.LANES,
    "ORDER_KEY_OPTION": keys.ORDER_KEY_OPTION,
    "ORDERED_SOURCES": keys.ORDERED_SOURCES,
    "ORDERING_WAITING": keys.ORDERING_WAITING,
    "undispatched_key": keys.undispatched,
    "ordering_pending_key": keys.ordering_pending,
    "ordering_keys_key": keys.ordering_keys,
    "ordering_holders_key": keys.ordering_holders,
    "ordering_parked_key": keys.ordering_parked,
    "ordering_blocked_key": keys.ordering_blocked,
    "ordering_due_key": keys.ordering_due,
}


def _lua_string(text: str) -> str:
    if not text.isprintable():
        raise ValueError(f"{text!r} is not printable")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _lua_literal(value: Constant) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else _lua_string(value)


def _lua_key(name: str, key: Key) -> str:
    """``local NAME = 'hg:…'``, or a function that joins the key's parts as the Python function does."""
    if isinstance(key, str):
        return f"local {name} = {_lua_string(key)}"
    parts = list(inspect.signature(key).parameters)
    # The Python function fills its parts in; each part comes back as "\0name\0", a Lua parameter.
    pieces = key(*(f"\0{part}\0" for part in parts)).split("\0")
    joined = " .. ".join(piece if i % 2 else _lua_string(piece) for i, piece in enumerate(pieces) if piece)
    return f"local function {name}({', '.join(parts)}) return {joined} end"


def _read(name: str) -> str:
    return resources.files("gateway.store").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


@functools.cache
def source(name: str, **constants: Constant) -> str:
    """The full text of a script: the locals it names (keys and ``constants``), the shared functions when
    it runs on the processing record, then the script itself."""
    if name not in NAMES:
        raise ValueError(f"no script named {name!r}")
    shared = "".join(_read(part) + "\n" for part in _SHARED) if name in RECORD_SCRIPTS else ""
    body = shared + _read(name)
    code = re.sub(r"--[^\n]*", "", body)  # a name in a comment is not a use
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    clash = constants.keys() & LUA_KEYS.keys()
    if clash:
        raise ValueError(f"constants {sorted(clash)} are key names")
    missing = {const for const in constants if const not in named}
    if missing:
        raise ValueError(f"{name}.lua does not use the constants {sorted(missing)}")
    prelude = [_lua_key(lua, key) for lua, key in LUA_KEYS.items() if lua in named]
    prelude += [f"local {const} = {_lua_literal(value)}" for const, value in constants.items()]
    return "\n".join([*prelude, body])


@overload
def register(client: aioredis.Redis, name: str, **constants: Constant) -> AsyncScript: ...
@overload
def register(client: redis.Redis, name: str, **constants: Constant) -> Script: ...
def register(client: redis.Redis | aioredis.Redis, name: str, **constants: Constant) -> Script | AsyncScript:
    """The script ``name`` (one of ``NAMES``), with its ``constants``, bound to ``client``."""
    text = source(name, **constants)
    return _AsyncScript(client, text) if isinstance(client, aioredis.Redis) else _Script(client, text)


# redis-py's ``Script.__call__`` imports two modules (its pipeline classes) and goes through ``evalsha``
# and ``_evalsha`` on every call. Called on its own client, as hookgate's scripts almost always are, these
# send the same EVALSHA straight away; given a pipeline or another client, or answered NOSCRIPT (the
# server lost its scripts), they do exactly what redis-py does.


class _Script(Script):
    def __call__(
        self, keys: Sequence[Any] | None = None, args: Iterable[Any] | None = None, client: Any = None
    ) -> Any:
        if client is None:
            keys = keys or ()
            try:
                return self.registered_client.execute_command(  # type: ignore[no-untyped-call]
                    "EVALSHA", self.sha, len(keys), *keys, *(args or ())
                )
            except NoScriptError:
                pass
        return super().__call__(keys, args, client)


class _AsyncScript(AsyncScript):
    async def __call__(
        self, keys: Sequence[Any] | None = None, args: Iterable[Any] | None = None, client: Any = None
    ) -> Any:
        if client is None:
            keys = keys or ()
            try:
                return await self.registered_client.execute_command(
                    "EVALSHA", self.sha, len(keys), *keys, *(args or ())
                )
            except NoScriptError:
                pass
        return await super().__call__(keys, args, client)
