"""The worker side's Lua scripts, read once from ``gateway/store/lua/``.

``record.lua`` holds the functions every script shares (the processing record of events) and is loaded
as each script's prefix, so every script stays one atomic step. redis-py's ``Script`` loads a script
again by itself when Redis has forgotten it (a restart, ``SCRIPT FLUSH``).
"""

from __future__ import annotations

import functools
from importlib import resources

import redis
from redis.commands.core import Script

from gateway.store import keys

#: Each reads and writes the keys listed in ``record.lua``'s header.
NAMES = ("settle", "begin", "promote", "give_back", "repair", "archived", "restore", "collect")


@functools.cache
def source(name: str) -> str:
    """The full text of a script: the shared functions, then the script itself."""
    folder = resources.files("gateway.store").joinpath("lua")
    shared = folder.joinpath("record.lua").read_text(encoding="utf-8")
    own = folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    return (shared + "\n" + own).replace("@PREFIX@", keys.PREFIX).replace("@MQ@", keys.DRAMATIQ_NAMESPACE)


def register(client: redis.Redis, name: str) -> Script:
    """``name`` (one of ``NAMES``) bound to ``client``."""
    if name not in NAMES:
        raise ValueError(f"no script named {name!r}")
    return client.register_script(source(name))
