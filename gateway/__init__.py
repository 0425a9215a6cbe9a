"""hookgate's gateway: settings, the Litestar app, the Redis event store, the broker and the CLI."""

from gateway.config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
