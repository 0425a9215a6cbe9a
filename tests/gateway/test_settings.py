"""Configuration: the TOML contract, environment overrides, secrets and errors that name the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings
from gateway.ingest.sources import build_sources

BASE = """
[redis]
url = "redis://127.0.0.1:6399/0"

[sources.github]
provider = "github"
secret = "It's a Secret to Everybody"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hookgate.toml"
    path.write_text(text)
    return path


def test_defaults_follow_the_contract(tmp_path):
    settings = load_settings(write(tmp_path, BASE), environ={})
    assert settings.gateway.max_body_bytes == 1_048_576
    assert settings.retention.events_days == 7
    assert settings.retention.dedupe_window_hours == 168
    assert settings.retention.body_hash_window_hours == 1
    assert settings.retries.max_retries == 8
    assert settings.sources["github"].provider == "github"


def test_a_provider_option_that_shadows_a_setting_is_an_error_naming_it(tmp_path):
    # ``tolerance`` once reached the provider beside tolerance_seconds and crashed start-up (TypeError).
    with pytest.raises(ConfigError, match=r"sources\.github: unknown key 'tolerance'.*tolerance_seconds"):
        load_settings(write(tmp_path, BASE + "tolerance = 5\n"), environ={})


def test_config_path_comes_from_env_when_not_given(tmp_path):
    path = write(tmp_path, BASE)
    assert load_settings(environ={"HOOKGATE_CONFIG": str(path)}).redis.url == "redis://127.0.0.1:6399/0"


def test_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_env_overrides_scalar_sections(tmp_path):
    env = {
        "HOOKGATE_REDIS__URL": "rediss://cache.internal:6380/1",
        "HOOKGATE_GATEWAY__MAX_BODY_BYTES": "2048",
        "HOOKGATE_GATEWAY__TRUSTED_PROXIES": '["10.0.0.0/8"]',
        "HOOKGATE_RETRIES__MAX_RETRIES": "3",
    }
    settings = load_settings(write(tmp_path, BASE), environ=env)
    assert settings.redis.url == "rediss://cache.internal:6380/1"
    assert settings.gateway.max_body_bytes == 2048
    assert settings.gateway.trusted_proxies == ("10.0.0.0/8",)
    assert settings.retries.max_retries == 3


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("HOOKGATE_REDIS__URLL", "HOOKGATE_REDIS__URLL"),
        ("HOOKGATE_REDDIS__URL", "HOOKGATE_REDDIS__URL"),
        ("HOOKGATE_SOURCES__GITHUB__SECRET", "HOOKGATE_SOURCES__GITHUB__SECRET"),
        ("HOOKGATE_DEBUG", "HOOKGATE_DEBUG"),
    ],
)
def test_unknown_env_variables_are_errors(tmp_path, name, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_settings(write(tmp_path, BASE), environ={name: "x"})


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("[gateway]\nmax_body_byte = 1\n", "gateway.max_body_byte: unknown key"),
        ("[gateway]\nmax_body_bytes = -1\n", "gateway.max_body_bytes"),
        ("[redis2]\nurl = 'x'\n", "redis2: unknown key"),
        (
            "[sources.stripe]\nprovider = 'stripe'\nsecret = 'whsec_x'\ntolerance_seconds = 'soon'\n",
            "tolerance_seconds",
        ),
        ("[sources.x]\nprovider = 'carrier-pigeon'\nsecret = 's'\n", "sources.x"),
        ("[sources.x]\nprovider = 'github'\nsecret = 's'\nheader = 'X-Sig'\n", "sources.x"),
        ("[sources.x]\nprovider = 'github'\n", "sources.x: no secret"),
        ("[retention]\nevents_days = 1\ndedupe_window_hours = 48\n", "dedupe_window_hours"),
    ],
)
def test_bad_values_are_errors_naming_the_key(tmp_path, extra, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(write(tmp_path, BASE + extra), environ={})


def test_redis_url_scheme_is_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"redis\.url"):
        load_settings(write(tmp_path, BASE), environ={"HOOKGATE_REDIS__URL": "http://x"})


def test_secrets_from_list_env_and_file_all_count(tmp_path):
    secret_file = tmp_path / "github.secret"
    secret_file.write_text("from-file-1\nfrom-file-2\n")
    config = write(
        tmp_path,
        "[sources.github]\nprovider = 'github'\nsecrets = ['a', 'b']\n"
        f"secret_env = 'GH_SECRET'\nsecret_file = '{secret_file}'\n",
    )
    environ = {"GH_SECRET": "env-1, env-2"}
    settings = load_settings(config, environ=environ)
    expected = ["a", "b", "env-1", "env-2", "from-file-1", "from-file-2"]
    assert settings.sources["github"].resolved_secrets(environ) == expected
    assert list(build_sources(settings, environ)["github"].verifier.secrets) == expected


def test_unset_secret_env_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    config = write(tmp_path, "[sources.github]\nprovider = 'github'\nsecret_env = 'NOT_SET_ANYWHERE'\n")
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        load_settings(config, environ={})


def test_secrets_never_show_in_repr(tmp_path):
    settings = load_settings(write(tmp_path, BASE), environ={})
    assert "Secret to Everybody" not in repr(settings)


def test_admin_tokens_are_checked_at_start_up(tmp_path):
    good = BASE + '[[admin.tokens]]\nname = "ops"\nscopes = ["read"]\ntoken = "sha256:' + "ab" * 32 + '"\n'
    assert load_settings(write(tmp_path, good), environ={}).admin.tokens[0].name == "ops"
    no_hex = BASE + '[[admin.tokens]]\nname = "ops"\nscopes = ["read"]\ntoken = "plain-secret"\n'
    with pytest.raises(ConfigError, match=r"admin\.tokens\.0\.token"):
        load_settings(write(tmp_path, no_hex), environ={})
    bad_scope = BASE + '[[admin.tokens]]\nname = "ops"\nscopes = ["root"]\ntoken_env = "T"\n'
    with pytest.raises(ConfigError, match=r"admin\.tokens\.0\.scopes"):
        load_settings(write(tmp_path, bad_scope), environ={"T": "x"})
    unset = BASE + '[[admin.tokens]]\nname = "ops"\nscopes = ["read"]\ntoken_env = "NOT_SET_TOKEN"\n'
    with pytest.raises(ConfigError, match="NOT_SET_TOKEN"):
        load_settings(write(tmp_path, unset), environ={})


def test_dashboard_session_secret_from_config_env_or_file(tmp_path):
    inline = load_settings(
        write(tmp_path, BASE + '[admin]\nsession_secret = "0123456789abcdef-long"\n'), environ={}
    )
    key = inline.admin.session_key({})
    assert key is not None and len(key) == 32
    from_env = load_settings(
        write(tmp_path, BASE + '[admin]\nsession_secret_env = "HG_SESSION"\n'),
        environ={"HG_SESSION": "0123456789abcdef-long\n"},
    )
    assert from_env.admin.session_key({"HG_SESSION": "0123456789abcdef-long"}) == key
    secret_file = tmp_path / "session"
    secret_file.write_text("0123456789abcdef-long\n")
    from_file = load_settings(
        write(tmp_path, BASE + f'[admin]\nsession_secret_file = "{secret_file}"\n'), environ={}
    )
    assert from_file.admin.session_key({}) == key
    overridden = load_settings(write(tmp_path, BASE), environ={"HOOKGATE_ADMIN__SESSION_SECRET": "x" * 20})
    assert overridden.admin.session_key({}) is not None
    assert load_settings(write(tmp_path, BASE), environ={}).admin.session_key({}) is None


@pytest.mark.parametrize(
    ("admin", "environ", "message"),
    [
        ('session_secret = "short"', {}, r"admin\.session_secret: the secret must be at least 16"),
        ('session_secret_env = "NOPE"', {}, r"admin\.session_secret_env: names 'NOPE', which is not set"),
        (
            'session_secret_file = "/no/such/file"',
            {},
            r"admin\.session_secret_file: cannot read /no/such/file",
        ),
        ('session_secret = "0123456789abcdef"\nsession_secret_env = "X"', {"X": "y" * 16}, "at most one"),
        ("session_idle_minutes = 0", {}, r"admin\.session_idle_minutes"),
        ("session_max_hours = 0", {}, r"admin\.session_max_hours"),
    ],
)
def test_bad_session_settings_name_the_key(tmp_path, admin, environ, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, BASE + f"[admin]\n{admin}\n"), environ=environ)


def test_serve_workers_share_one_session_secret_when_none_is_configured(tmp_path):
    from gateway.processes.serve import share_session_secret

    token = '[[admin.tokens]]\nname = "ops"\nscopes = ["read"]\ntoken_env = "T"\n'
    settings = load_settings(write(tmp_path, BASE + token), environ={"T": "x"})
    environ = {"T": "x"}
    share_session_secret(settings, environ)
    child = load_settings(write(tmp_path, BASE + token), environ=environ)  # what each process reads
    key = child.admin.session_key(environ)
    assert key is not None and key == load_settings(
        write(tmp_path, BASE + token), environ=environ
    ).admin.session_key(environ)
    configured = load_settings(
        write(tmp_path, BASE + '[admin]\nsession_secret = "0123456789abcdef0"\n' + token), environ={"T": "x"}
    )
    untouched = {"T": "x"}
    share_session_secret(configured, untouched)
    assert "HOOKGATE_ADMIN__SESSION_SECRET" not in untouched


@pytest.mark.parametrize("form", ["inline", "env", "file"])
def test_the_record_url_and_a_channel_url_come_from_config_env_or_file(tmp_path, form):
    dsn, hook = "postgresql://hookgate@db/hookgate", "https://hooks.slack.test/T/B/x"
    secret_file = tmp_path / "dsn"
    secret_file.write_text(dsn + "\n")  # as a mounted secret ends: stripped
    (tmp_path / "hook").write_text(hook + "\n")
    given = {
        "inline": (f'url = "{dsn}"', f'url = "{hook}"'),
        "env": ('url_env = "DSN"', 'url_env = "HOOK"'),
        "file": (f'url_file = "{secret_file}"', f'url_file = "{tmp_path / "hook"}"'),
    }[form]
    text = BASE + f'[record]\n{given[0]}\n[channels.ops]\nkind = "slack"\n{given[1]}\n'
    settings = load_settings(write(tmp_path, text), environ={"DSN": dsn, "HOOK": hook})
    assert settings.record.dsn({"DSN": dsn}) == dsn
    assert settings.channels["ops"].resolved("ops", {"HOOK": hook}) == {"url": hook}


def test_an_unset_or_unreadable_secret_names_its_key(tmp_path):
    unset = BASE + '[record]\nurl_env = "NOPE"\n'
    with pytest.raises(ValueError, match=r"^record\.url_env: names 'NOPE', which is not set$"):
        load_settings(write(tmp_path, unset), environ={}).record.dsn({})
    unreadable = BASE + '[record]\nurl_file = "/no/such/file"\n'
    with pytest.raises(ValueError, match=r"^record\.url_file: cannot read /no/such/file"):
        load_settings(write(tmp_path, unreadable), environ={}).record.dsn({})
    channel = BASE + '[channels.ops]\nkind = "slack"\nurl_env = "NOPE"\n'
    with pytest.raises(ConfigError, match=r"^channels\.ops\.url_env: names 'NOPE', which is not set$"):
        load_settings(write(tmp_path, channel), environ={})
    token = BASE + '[[admin.tokens]]\nname = "ops"\nscopes = ["read"]\ntoken_file = "/no/such/file"\n'
    with pytest.raises(ConfigError, match=r"admin\.tokens\[0\] \(ops\): token_file: cannot read /no/such"):
        load_settings(write(tmp_path, token), environ={})


def test_the_config_package_imports_no_runtime_code():
    """Reading the config loads none of gateway's runtime roles: a fresh interpreter imports it alone."""
    check = "import sys, gateway.config; print('\\n'.join(sys.modules))"
    answer = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    runtime = {"ingest", "worker", "store", "platform", "frontends", "processes", "alerts", "record"}
    loaded = {name.split(".")[1] for name in answer.stdout.split() if name.startswith("gateway.")}
    assert "config" in loaded
    assert loaded & runtime == set()
