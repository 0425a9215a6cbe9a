"""hookgate: one package per role (the README's "Where things live"); the settings are re-exported here."""

from gateway.config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
