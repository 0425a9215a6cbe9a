"""hookgate's configuration: one TOML file, overridden by ``HOOKGATE_*`` environment variables.

Settings are built once (``load_settings``) and passed in; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

import signatures
from gateway.config.alerts import AlertSettings, ChannelSettings, IssuesSettings, TracingSettings
from gateway.config.secrets import one_secret, read_secret_file
from gateway.ingest.limits import RateLimit, parse_networks

ENV_PREFIX = "HOOKGATE_"
CONFIG_ENV = "HOOKGATE_CONFIG"
DEFAULT_CONFIG = "hookgate.toml"
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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RedisSettings(_Section):
    url: str | None = None
    #: Redis Sentinel instead of ``url``: the sentinels ("host:port") and the primary's service name.
    sentinels: tuple[str, ...] = ()
    service_name: str | None = None
    #: The sentinels' own password, when they have one (the primary's is ``password_file``).
    sentinel_password_file: Path | None = None
    #: 202 only once this many replicas hold the event (Redis WAIT, up to replica_ack_timeout_ms), else 503.
    min_replica_acks: int = Field(default=0, ge=0, le=16)
    replica_ack_timeout_ms: int = Field(default=200, ge=1, le=10_000)
    password_file: Path | None = None
    #: Timeouts on the ingest path, well under senders' 3-10 s deadlines, so a hung Redis answers 503.
    connect_timeout_seconds: float = Field(default=0.5, gt=0)
    timeout_seconds: float = Field(default=1.0, gt=0)
    #: Connections per gateway process; requests beyond it wait for one (within timeout_seconds).
    max_connections: int = Field(default=64, ge=1)

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url

    @field_validator("sentinels")
    @classmethod
    def _addresses(cls, sentinels: tuple[str, ...]) -> tuple[str, ...]:
        for address in sentinels:
            host, sep, port = address.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address!r} is not host:port")
        return sentinels

    @model_validator(mode="after")
    def _one_way_to_redis(self) -> RedisSettings:
        if self.url and self.sentinels:
            raise ValueError("give url or sentinels, not both")
        if self.sentinels and not self.service_name:
            raise ValueError("sentinels need service_name (the primary's name the sentinels monitor)")
        if self.service_name and not self.sentinels:
            raise ValueError("service_name is for sentinels: give them too")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.url or self.sentinels)

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(host, int(port)) for host, _, port in (a.rpartition(":") for a in self.sentinels)]

    def password(self) -> str | None:
        if self.password_file is None:
            return None
        return read_secret_file(self.password_file).strip() or None

    def sentinel_password(self) -> str | None:
        if self.sentinel_password_file is None:
            return None
        return read_secret_file(self.sentinel_password_file).strip() or None


class GatewaySettings(_Section):
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    trusted_proxies: tuple[str, ...] = ()
    retry_after_seconds: int = Field(default=5, ge=1)
    access_log: bool = False
    #: Bounds on a request's head (request line and headers): its size and header count (else 431),
    #: and the time from its first byte until it is complete (else 408; ``gateway/ingest/heads.py``).
    max_head_bytes: int = Field(default=65_536, ge=4096)
    max_headers: int = Field(default=100, ge=10)
    head_timeout_seconds: float = Field(default=10, gt=0)
    #: On SIGTERM, answer /readyz with 503 for this long before closing the listener, so a load balancer
    #: stops sending new requests first; in-flight requests then finish.
    shutdown_delay_seconds: float = Field(default=0, ge=0, le=300)

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(proxies)
        return proxies


class RetentionSettings(_Section):
    events_days: float = Field(default=7, gt=0)
    dedupe_window_hours: float = Field(default=168, gt=0)
    body_hash_window_hours: float = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _windows_within_retention(self) -> RetentionSettings:
        for key in ("dedupe_window_hours", "body_hash_window_hours"):
            if getattr(self, key) > self.events_days * 24:
                raise ValueError(
                    f"{key} ({getattr(self, key):g} h) is longer than events_days ({self.events_days:g} d): "
                    "a duplicate could arrive after its event expired"
                )
        return self

    @property
    def events_seconds(self) -> int:
        return int(self.events_days * 86400)

    @property
    def dedupe_seconds(self) -> int:
        return int(self.dedupe_window_hours * 3600)

    @property
    def body_hash_seconds(self) -> int:
        return int(self.body_hash_window_hours * 3600)


class RecordSettings(_Section):
    """``[record]``: PostgreSQL as the record of every event (``gateway/record``). Absent, Redis is the
    whole store. The URL (a libpq connection URI, which may hold a password) comes from exactly one of
    ``url``, ``url_env`` or ``url_file``."""

    url: SecretStr | None = None
    url_env: str | None = None
    url_file: Path | None = None
    #: How long an event's body (and processing record) stays in Redis after it settles and is written.
    hot_hours: float = Field(default=24, ge=0)
    #: Events per write: one COPY and one upsert per batch.
    batch: int = Field(default=1000, ge=1, le=10_000)
    #: How often the writer looks for new changes when it has caught up.
    interval_seconds: float = Field(default=0.5, gt=0, le=60)
    #: Connections per process (readers and the writer); queries wait for one up to the timeout.
    pool_size: int = Field(default=4, ge=1, le=100)
    timeout_seconds: float = Field(default=5, gt=0)

    @model_validator(mode="after")
    def _one_url(self) -> RecordSettings:
        if sum(v is not None for v in (self.url, self.url_env, self.url_file)) != 1:
            raise ValueError("give exactly one of url, url_env or url_file")
        return self

    @property
    def hot_seconds(self) -> int:
        return int(self.hot_hours * 3600)

    def dsn(self, environ: Mapping[str, str] | None = None) -> str:
        """The connection URI, read from the config, the environment or a file."""
        environ = os.environ if environ is None else environ
        found = one_secret("record.url", self.url, self.url_env, self.url_file, environ)
        assert found is not None  # exactly one is given (checked when the config is read)
        if not found.startswith(("postgresql://", "postgres://")):
            raise ValueError("record.url: must start with postgresql:// or postgres://")
        return found


class RetriesSettings(_Section):
    max_retries: int = Field(default=8, ge=0)
    min_backoff_ms: int = Field(default=1000, ge=0)
    max_backoff_ms: int = Field(default=3_600_000, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> RetriesSettings:
        if self.max_backoff_ms < self.min_backoff_ms:
            raise ValueError("max_backoff_ms is smaller than min_backoff_ms")
        return self


class WorkerSettings(_Section):
    processes: int = Field(default=1, ge=1)
    threads: int = Field(default=8, ge=1)
    #: A worker whose heartbeat is older than this is dead and its unacked messages are requeued.
    heartbeat_timeout_ms: int = Field(default=15_000, ge=1000)
    #: Out of a million broker commands, how many also run maintenance (requeueing dead workers' messages).
    maintenance_chance: int = Field(default=10_000, ge=0, le=1_000_000)
    #: How long an idle worker waits between polls of its queues, at most.
    idle_poll_ms: int = Field(default=25, ge=5)
    #: How often each worker moves waiting messages (retries) that are due to their queues.
    delay_poll_ms: int = Field(default=50, ge=5)
    #: How long a worker retries, while Redis is unreachable, to write a message's outcome with its
    #: acknowledgement; then it gives the message back unacknowledged, to run again.
    outcome_retry_seconds: float = Field(default=120, gt=0)
    #: An event unsettled this long with no message anywhere gets its message back (the reconciler).
    reconcile_after_seconds: float = Field(default=300, ge=1)


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] | None = None


class ConsumersSettings(_Section):
    modules: tuple[str, ...] = ()


class ForwardSettings(_Section):
    """One ``[[forward]]`` table: the built-in consumer that POSTs the raw event on to a URL."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
    source: str
    events: tuple[str, ...] = ()
    url: str
    timeout_seconds: float = Field(default=10, gt=0)
    #: Extra headers; a value ``"env:NAME"`` is read from the environment variable NAME.
    headers: dict[str, str] = {}
    #: Signs what is forwarded with the Standard Webhooks scheme (``whsec_...``).
    sign_secret: SecretStr | None = None
    max_retries: int | None = Field(default=None, ge=0)
    min_backoff_ms: int | None = Field(default=None, ge=0)
    max_backoff_ms: int | None = Field(default=None, ge=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url

    def resolved_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        environ = os.environ if environ is None else environ
        resolved = {}
        for name, value in self.headers.items():
            if value.startswith("env:"):
                variable = value.removeprefix("env:")
                if variable not in environ:
                    raise ValueError(f"headers.{name} names {variable!r}, which is not set")
                value = environ[variable]
            resolved[name] = value
        return resolved


class TokenSettings(_Section):
    """One ``[[admin.tokens]]`` table: ``token = "sha256:<hex>"``, or the plain secret from env or a file."""

    name: str = Field(min_length=1)
    scopes: tuple[Literal["metrics", "read", "replay", "admin"], ...] = Field(min_length=1)
    token: str | None = Field(default=None, pattern=r"^sha256:[0-9a-fA-F]{64}$")
    token_env: str | None = None
    token_file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TokenSettings:
        if sum(v is not None for v in (self.token, self.token_env, self.token_file)) != 1:
            raise ValueError("give exactly one of token (sha256:<hex>), token_env or token_file")
        return self

    def digest(self, environ: Mapping[str, str] | None = None) -> bytes:
        """The sha256 of the secret."""
        import hashlib

        if self.token is not None:
            return bytes.fromhex(self.token.removeprefix("sha256:"))
        environ = os.environ if environ is None else environ
        secret = one_secret("token", None, self.token_env, self.token_file, environ)
        assert secret is not None  # exactly one is given (checked when the config is read)
        return hashlib.sha256(secret.encode()).digest()


class AdminSettings(_Section):
    tokens: tuple[TokenSettings, ...] = ()
    #: When set, /api/v1, /dashboard and /metrics move to this second listener; the public port keeps
    #: only the webhooks and the health checks.
    port: int | None = Field(default=None, ge=1, le=65535)
    host: str = "127.0.0.1"
    #: Signs (and encrypts) the dashboard's session cookie; every gateway process must share it.
    session_secret: SecretStr | None = None
    session_secret_env: str | None = None
    session_secret_file: Path | None = None
    #: A dashboard session ends after this long without a request.
    session_idle_minutes: int = Field(default=480, ge=1, le=43_200)
    #: ... and this long after the login, however busy.
    session_max_hours: int = Field(default=24, ge=1, le=720)
    #: Mark the dashboard's cookies Secure (sent over HTTPS only): set it when TLS terminates in front.
    secure_cookies: bool = False
    #: The dashboard's address as operators reach it (https://hookgate.example.com): notifications
    #: link to the page that shows what failed.
    public_url: str | None = None
    #: Serve /metrics without a token. Off by default: a scraper presents a token (the ``metrics``
    #: scope is enough), so a gateway facing the internet does not show its traffic to everyone.
    public_metrics: bool = False

    @model_validator(mode="after")
    def _one_session_secret(self) -> AdminSettings:
        given = (self.session_secret, self.session_secret_env, self.session_secret_file)
        if sum(v is not None for v in given) > 1:
            raise ValueError("give at most one of session_secret, session_secret_env or session_secret_file")
        return self

    def session_key(self, environ: Mapping[str, str] | None = None) -> bytes | None:
        """32 bytes derived from the configured session secret, or None when there is none."""
        import hashlib

        environ = os.environ if environ is None else environ
        given = (self.session_secret, self.session_secret_env, self.session_secret_file)
        secret = one_secret("session_secret", *given, environ)
        if secret is None:
            return None
        if len(secret) < 16:
            message = "session_secret: the secret must be at least 16 characters (use a long random string)"
            raise ValueError(message)
        return hashlib.sha256(b"hookgate-session\0" + secret.encode()).digest()


class SourceSettings(BaseModel):
    """One ``[sources.NAME]`` table. Provider-specific keys are checked by the provider itself."""

    model_config = ConfigDict(extra="allow", frozen=True)

    provider: str
    secret: SecretStr | None = None
    secrets: tuple[SecretStr, ...] = ()
    secret_env: str | None = None
    secret_file: Path | None = None
    public_key: SecretStr | None = None
    tolerance_seconds: int | None = Field(default=None, ge=1)
    max_body_bytes: int | None = Field(default=None, gt=0)
    dedupe: bool = True
    delivery_id: str | None = None
    event_type: str | None = None
    public_url: str | None = None
    #: Client addresses allowed to post (CIDRs); others get 403. See ``[gateway] trusted_proxies``.
    allowed_ips: tuple[str, ...] | None = None
    #: ``"N/s"`` or ``"N/m"`` across all gateway processes; beyond it 429 with Retry-After.
    rate_limit: str | None = None

    @field_validator("allowed_ips")
    @classmethod
    def _networks(cls, cidrs: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if cidrs is not None:
            parse_networks(cidrs)
        return cidrs

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, text: str | None) -> str | None:
        if text is not None:
            RateLimit.parse(text)
        return text

    @field_validator("public_url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be the full http:// or https:// URL the sender posts to")
        return url

    @property
    def provider_options(self) -> dict[str, Any]:
        """The keys this model does not know, handed to the provider, which refuses unknown ones."""
        return dict(self.model_extra or {})

    def resolved_secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every secret that may match, in order: inline, list, env variable, file."""
        environ = os.environ if environ is None else environ
        found: list[str] = []
        for single in (self.secret, self.public_key):
            if single is not None:
                found.append(single.get_secret_value())
        found.extend(s.get_secret_value() for s in self.secrets)
        if self.secret_env is not None:
            value = environ.get(self.secret_env)
            if value is None:
                raise ValueError(f"secret_env names {self.secret_env!r}, which is not set")
            found.extend(_split_secrets(value))
        if self.secret_file is not None:
            found.extend(_split_secrets(read_secret_file(self.secret_file)))
        return [s for s in found if s]


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


class SourceConfig:
    """A source ready for the receiver: its settings, its verifier and its resolved limits."""

    __slots__ = ("allowed_ips", "body_limit", "dedupe", "name", "public_url", "rate", "settings", "verifier")

    def __init__(self, name: str, settings: SourceSettings, verifier: signatures.Verifier, body_limit: int):
        self.name = name
        self.settings = settings
        self.verifier = verifier
        self.body_limit = body_limit
        self.dedupe = settings.dedupe
        self.public_url = settings.public_url or ""
        self.allowed_ips = parse_networks(settings.allowed_ips) if settings.allowed_ips is not None else None
        self.rate = RateLimit.parse(settings.rate_limit) if settings.rate_limit else None


def build_sources(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, SourceConfig]:
    """Build a verifier per source; a bad provider config is a ConfigError naming the source."""
    built: dict[str, SourceConfig] = {}
    for name, source in settings.sources.items():
        where = f"sources.{name}"
        try:
            secrets = source.resolved_secrets(environ)
            if not secrets:
                raise ValueError("no secret: set secret, secrets, secret_env or secret_file")
            verifier = signatures.build(
                source.provider,
                secrets,
                tolerance=source.tolerance_seconds,
                delivery_id=source.delivery_id,
                event_type=source.event_type,
                **source.provider_options,
            )
        except (ValueError, OSError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        built[name] = SourceConfig(
            name, source, verifier, source.max_body_bytes or settings.gateway.max_body_bytes
        )
    return built


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
    build_sources(settings, environ)  # validates every source's provider config up front
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
    return settings


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
        import json

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


def _split_secrets(value: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", value) if part]
