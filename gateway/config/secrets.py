"""Secrets in the config: given inline, as the name of an environment variable (``*_env``) or as a
file (``*_file``, as Docker and Kubernetes mount them). Read when needed, stripped, never logged; an
error names the key at fault."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr


def read_secret_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None


def one_secret(
    key: str,
    inline: SecretStr | None,
    env: str | None,
    file: Path | None,
    environ: Mapping[str, str],
) -> str | None:
    """The secret given as ``key``, ``{key}_env`` or ``{key}_file`` (the first that is set), stripped;
    None when none is."""
    if inline is not None:
        return inline.get_secret_value().strip()
    if env is not None:
        if env not in environ:
            raise ValueError(f"{key}_env: names {env!r}, which is not set")
        return environ[env].strip()
    if file is not None:
        try:
            return read_secret_file(file).strip()
        except ValueError as exc:
            raise ValueError(f"{key}_file: {exc}") from None
    return None
