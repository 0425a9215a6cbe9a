"""The whole configuration: one TOML file, overridden by ``HOOKGATE_*`` environment variables.

Settings are built once (``load_settings``) and passed in; nothing reads the environment at import time.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.config.admin import AdminSettings
from gateway.config.alerts import AlertSettings, ChannelSettings, IssuesSettings
from gateway.config.consumers import ConsumersSettings
from gateway.config.destinations import DestinationSettings
from gateway.config.forwards import ForwardSettings
from gateway.config.gateway import GatewaySettings
from gateway.config.logging import LoggingSettings
from gateway.config.record import RecordSettings
from gateway.config.redis import RedisSettings
from gateway.config.retention import RetentionSettings
from gateway.config.retries import RetriesSettings
from gateway.config.sources import SourceSettings, check_source
from gateway.config.tracing import TracingSettings
from gateway.config.worker import WorkerSettings

ENV_PREFIX = "HOOKGATE_"
CONFIG_ENV = "HOOKGATE_CONFIG"
DEFAULT_CONFIG = "hookgate.toml"
CONSUMER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Sections whose scalar keys environment variables may override (sources take secret_env/secret_file).
ENV_SECTIONS = (
    "redis",
    "gateway",
    "retention",
    "retries",
    "worker",
    "logging",
    "admin",
    "tracing",
    "issues",
    "record",
)


class ConfigError(Exception):
    """The configuration is invalid; the message names the key at fault."""


class Settings(BaseModel):
    """The whole configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    redis: RedisSettings = RedisSettings()
    gateway: GatewaySettings = GatewaySettings()
    retention: RetentionSettings = RetentionSettings()
    retries: RetriesSettings = RetriesSettings()
    worker: WorkerSettings = WorkerSettings()
    logging: LoggingSettings = LoggingSettings()
    consumers: ConsumersSettings = ConsumersSettings()
    admin: AdminSettings = AdminSettings()
    sources: dict[Annotated[str, Field(pattern=SOURCE_NAME.pattern)], SourceSettings] = {}
    forward: tuple[ForwardSettings, ...] = ()
    #: Lane settings for any consumer by name (a forward's or an ``@consumer``'s); these win.
    destinations: dict[Annotated[str, Field(pattern=CONSUMER_NAME)], DestinationSettings] = {}
    alerts: tuple[AlertSettings, ...] = ()
    issues: IssuesSettings = IssuesSettings()
    channels: dict[Annotated[str, Field(pattern=SOURCE_NAME.pattern)], ChannelSettings] = {}
    tracing: TracingSettings = TracingSettings()
    record: RecordSettings | None = None

    config_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _forwards_name_known_sources(self) -> Settings:
        seen: set[str] = set()
        for index, forward in enumerate(self.forward):
            if forward.source not in self.sources:
                raise ValueError(f"forward[{index}] ({forward.name}): no source named {forward.source!r}")
            if forward.name in seen:
                raise ValueError(f"forward[{index}]: two [[forward]] entries are named {forward.name!r}")
            seen.add(forward.name)
        names: set[str] = set()
        for index, alert in enumerate(self.alerts):
            where = f"alerts[{index}] ({alert.name})"
            if alert.name in names:
                raise ValueError(f"{where}: two [[alerts]] are named {alert.name!r}")
            names.add(alert.name)
            for channel in alert.channels:
                if channel not in self.channels:
                    raise ValueError(f"{where}: no [channels.{channel}]")
            if alert.source is not None and alert.source not in self.sources:
                raise ValueError(f"{where}: no source named {alert.source!r}")
        return self


def config_path(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    """``--config PATH``, else ``$HOOKGATE_CONFIG``, else ``./hookgate.toml``."""
    return Path(explicit or environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    require_file: bool = True,
) -> Settings:
    """Read the TOML file, apply environment overrides, validate; ConfigError names the key at fault."""
    environ = os.environ if environ is None else environ
    file = config_path(path, environ)
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    elif require_file or path is not None or CONFIG_ENV in environ:
        raise ConfigError(f"{file}: no such config file")
    _apply_env(data, environ)
    try:
        settings = Settings.model_validate({**data, "config_path": file})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    _check_secrets(settings, environ)
    return settings


def _check_secrets(settings: Settings, environ: Mapping[str, str]) -> None:
    """Read every secret and let each provider check its source now, so a bad one stops the start-up."""
    for name, source in settings.sources.items():
        try:
            check_source(source, environ)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"sources.{name}: {exc}") from None
    for index, token in enumerate(settings.admin.tokens):
        try:
            token.digest(environ)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"admin.tokens[{index}] ({token.name}): {exc}") from None
    try:
        settings.admin.session_key(environ)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"admin.{exc}") from None
    for name, channel in settings.channels.items():
        try:
            channel.resolved(name, environ)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        section, sep, key = name[len(ENV_PREFIX) :].lower().partition("__")
        model = Settings.model_fields.get(section)
        if not sep or section not in ENV_SECTIONS or model is None or model.annotation is None:
            raise ConfigError(f"{name}: no such setting (overrides look like HOOKGATE_REDIS__URL)")
        # An optional section ([record]) is ``Model | None``: its model is the type that is not None.
        section_model = next(
            (t for t in getattr(model.annotation, "__args__", (model.annotation,)) if t is not type(None)),
            model.annotation,
        )
        if key not in section_model.model_fields:
            raise ConfigError(f"{name}: [{section}] has no key {key!r}")
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{section}: must be a table")
        table[key] = _env_value(value)


def _env_value(value: str) -> Any:
    """Lists come as JSON or comma-separated text; scalars as text, which pydantic coerces."""
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return value
    return value


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"] if p not in ("function-after",)) or "config"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{key}: {message}")
    return "\n".join(lines)
