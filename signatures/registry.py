"""The provider registry; provider modules register themselves when discovered."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError

__all__ = ["build", "get_provider", "provider_names", "register", "verify"]

_V = TypeVar("_V", bound=type[Verifier])
_providers: dict[str, type[Verifier]] = {}
_discovered = False


def register(cls: _V) -> _V:
    """Class decorator making a Verifier subclass available under its ``name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__qualname__} needs a class attribute `name`")
    existing = _providers.get(name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"provider {name!r} is already registered by {existing.__qualname__}")
    _providers[name] = cls
    return cls


def _discover() -> None:
    """Import every module in signatures.providers once, so each registers itself."""
    global _discovered
    if _discovered:
        return
    from signatures import providers

    for module in pkgutil.iter_modules(providers.__path__):
        importlib.import_module(f"{providers.__name__}.{module.name}")
    _discovered = True


def provider_names() -> list[str]:
    """Names of every known provider, sorted."""
    _discover()
    return sorted(_providers)


def get_provider(name: str) -> type[Verifier]:
    """The Verifier class for ``name``; ConfigurationError listing the known names otherwise."""
    _discover()
    try:
        return _providers[name]
    except KeyError:
        known = ", ".join(sorted(_providers))
        raise ConfigurationError(f"unknown provider {name!r} (known: {known})") from None


def build(provider: str, secrets: Sequence[str], **config: Any) -> Verifier:
    """A configured verifier for ``provider``."""
    return get_provider(provider)(secrets, **config)


def verify(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    *,
    url: str = "",
    **config: Any,
) -> None:
    """Verify one delivery in a single call; raises a VerificationError when it is refused."""
    build(provider, secrets, **config).verify(Delivery(body, headers, url=url))
