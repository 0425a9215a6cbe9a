"""Configuration: one TOML file and HOOKGATE_* variables, validated into one model per section.

One module per section (``redis``, ``gateway``, ``sources``, ...), the whole in ``loader``. Nothing here
imports gateway's runtime: what the runtime builds from the settings (verifiers, rate limiters) it builds
itself.
"""

from gateway.config.admin import AdminSettings, TokenSettings
from gateway.config.alerts import AlertSettings, ChannelSettings, IssuesSettings, duration_seconds
from gateway.config.consumers import ConsumersSettings
from gateway.config.destinations import BreakerSettings, DestinationSettings, LaneSettings
from gateway.config.forwards import ForwardSettings
from gateway.config.gateway import GatewaySettings
from gateway.config.loader import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    ENV_PREFIX,
    ConfigError,
    Settings,
    config_path,
    load_settings,
)
from gateway.config.logging import LoggingSettings
from gateway.config.record import RecordSettings
from gateway.config.redis import RedisSettings
from gateway.config.retention import RetentionSettings
from gateway.config.retries import RetriesSettings
from gateway.config.secrets import one_secret, read_secret_file
from gateway.config.sources import SourceSettings, check_source
from gateway.config.tracing import TracingSettings
from gateway.config.values import Network, RateLimit, parse_networks
from gateway.config.worker import WorkerSettings

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "ENV_PREFIX",
    "AdminSettings",
    "AlertSettings",
    "BreakerSettings",
    "ChannelSettings",
    "ConfigError",
    "ConsumersSettings",
    "DestinationSettings",
    "ForwardSettings",
    "GatewaySettings",
    "IssuesSettings",
    "LaneSettings",
    "LoggingSettings",
    "Network",
    "RateLimit",
    "RecordSettings",
    "RedisSettings",
    "RetentionSettings",
    "RetriesSettings",
    "Settings",
    "SourceSettings",
    "TokenSettings",
    "TracingSettings",
    "WorkerSettings",
    "check_source",
    "config_path",
    "duration_seconds",
    "load_settings",
    "one_secret",
    "parse_networks",
    "read_secret_file",
]
