"""What a broken installation or image says: exit 2 and why, never a traceback. An image that names a
metrics folder nothing made, or one hookgate cannot write to; a wheel built without its migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from gateway.platform.metrics import MULTIPROC_ENV, MetricsDirError, prepare_multiprocess_dir
from gateway.record import schema
from tests.helpers import cli


def test_the_metrics_folder_is_made_when_the_variable_names_one_that_does_not_exist(tmp_path: Path) -> None:
    folder = tmp_path / "tmp" / "hookgate-metrics"
    assert prepare_multiprocess_dir({MULTIPROC_ENV: str(folder)}) == folder
    assert folder.is_dir()
    assert prepare_multiprocess_dir({MULTIPROC_ENV: str(folder)}) == folder  # again: nothing to do
    assert prepare_multiprocess_dir({}) is None


@pytest.mark.parametrize("where", ["file", "file/below"])
def test_a_file_in_the_way_of_the_metrics_folder_is_named(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(MetricsDirError, match=rf"^{MULTIPROC_ENV}=.*: .*a file is in the way"):
        prepare_multiprocess_dir({MULTIPROC_ENV: str(tmp_path / where)})
    with pytest.raises(MetricsDirError, match="set but empty"):
        prepare_multiprocess_dir({MULTIPROC_ENV: ""})


def test_hookgate_exits_2_naming_the_variable_when_it_cannot_make_the_metrics_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    answer = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, MULTIPROC_ENV: str(tmp_path / "file")},
        timeout=60,
        check=False,
    )
    assert answer.returncode == 2, answer.stderr
    assert MULTIPROC_ENV in answer.stderr and "Traceback" not in answer.stderr


@pytest.fixture
def without_migrations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The package's files as a wheel without its package data has them: no migrations folder."""
    package = tmp_path / "site-packages" / "gateway" / "record"
    package.mkdir(parents=True)
    monkeypatch.setattr(schema, "resources", SimpleNamespace(files=lambda _: package))
    return package


def test_an_installation_without_its_migrations_says_what_is_missing(without_migrations: Path) -> None:
    with pytest.raises(schema.MigrationsMissing, match=r"gateway/record/migrations/NNNN_name\.sql"):
        schema.migrations()
    (without_migrations / "migrations").mkdir()  # the folder, but no file in it
    with pytest.raises(schema.MigrationsMissing, match="built without its package data"):
        schema.migrations()


@pytest.mark.parametrize("command", ["serve", "worker", "check-config"])
def test_a_process_with_a_record_refuses_to_start_without_its_migrations(
    without_migrations: Path, tmp_path: Path, command: str
) -> None:
    """Before it connects to anything: a broken installation is not an outage to wait out."""
    config = tmp_path / "hookgate.toml"
    config.write_text('[redis]\nurl = "redis://127.0.0.1:1"\n[record]\nurl = "postgresql://127.0.0.1:1/x"\n')
    answer = cli(command, "--config", str(config))
    assert answer.returncode == 2, answer.stdout + answer.stderr
    assert "no migrations for the record" in answer.stderr
