"""The Lua loader: every script in ``gateway/store/lua`` loads, and its keys are the catalogue's."""

from __future__ import annotations

import inspect
from importlib import resources

import fakeredis
import pytest

from gateway.config import RetentionSettings
from gateway.store import keys, scripts
from gateway.store.ingest import script_constants


def test_every_lua_file_is_a_known_script():
    folder = resources.files("gateway.store").joinpath("lua")
    found = {entry.name.removesuffix(".lua") for entry in folder.iterdir() if entry.name.endswith(".lua")}
    assert found == {*scripts.NAMES, "record", "lanes", "ordering"}


@pytest.mark.parametrize("name", scripts.NAMES)
def test_every_script_compiles(name):
    constants = script_constants(RetentionSettings()) if name == "ingest" else {}
    assert fakeredis.FakeRedis().script_load(scripts.source(name, **constants))


def test_the_lua_keys_are_built_as_the_python_catalogue_builds_them():
    uses, expected = [], []
    for name, key in scripts.LUA_KEYS.items():
        if isinstance(key, str):
            uses.append(name)
            expected.append(key)
        else:
            parts = [f"p{i}" for i in range(len(inspect.signature(key).parameters))]
            uses.append(f"{name}({', '.join(repr(part) for part in parts)})")
            expected.append(key(*parts))
    prelude = "\n".join(scripts._lua_key(name, key) for name, key in scripts.LUA_KEYS.items())
    script = fakeredis.FakeRedis().register_script(f"{prelude}\nreturn {{{', '.join(uses)}}}")
    assert [k.decode() for k in script()] == expected
    assert keys.done("p0", "p1") in expected


def test_constants_must_be_used_and_must_not_shadow_a_key():
    with pytest.raises(ValueError, match="does not use"):
        scripts.source("rate_limit", EVENT_TTL=1)
    with pytest.raises(ValueError, match="key names"):
        scripts.source("ingest", UNSETTLED=1)
    with pytest.raises(ValueError, match="no script"):
        scripts.source("nope")


def _echo_script_text() -> str:
    return "return {KEYS[1], ARGV[1], #KEYS, #ARGV}"


def test_a_script_called_on_its_own_client_runs_and_loads_itself_again_after_a_flush():
    client = fakeredis.FakeRedis()
    script = scripts._Script(client, _echo_script_text())
    assert script(keys=["k"], args=["a", "b"]) == [b"k", b"a", 1, 2]
    client.script_flush()  # a restarted Redis has forgotten every script: NOSCRIPT, then a load
    assert script(keys=["k"], args=["a"]) == [b"k", b"a", 1, 1]
    with client.pipeline() as pipe:  # another client (a pipeline) goes through redis-py's own path
        script(keys=["p"], args=["x"], client=pipe)
        assert pipe.execute() == [[b"p", b"x", 1, 1]]
    assert isinstance(scripts.register(client, "settle"), scripts._Script)


async def test_the_async_script_runs_and_loads_itself_again_after_a_flush():
    client = fakeredis.FakeAsyncRedis()
    script = scripts._AsyncScript(client, _echo_script_text())
    assert await script(keys=["k"], args=["a", "b"]) == [b"k", b"a", 1, 2]
    await client.script_flush()
    assert await script(keys=["k"], args=["a"]) == [b"k", b"a", 1, 1]
    assert isinstance(scripts.register(client, "settle"), scripts._AsyncScript)
    await client.aclose()
