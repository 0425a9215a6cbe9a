"""The Verifier base class every provider subclasses, and the Handshake answer."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MissingHeader, SigningNotSupported
from signatures.hmac import check_timestamp
from signatures.locator import Locator

__all__ = ["Clock", "Handshake", "Verifier"]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Handshake:
    """The answer a provider's endpoint-verification request requires; ``headers`` are sent with it
    (Asana's echoed ``X-Hook-Secret``). ``store``: whether the request is also kept as an event (False for
    a pure check that carries no event: Meta's GET, Asana's handshake, a confirmed SNS subscription)."""

    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)  # may echo a secret
    store: bool = True


class Verifier(ABC):
    """Base class: one subclass per provider, in signatures/providers/<name>.py."""

    name: ClassVar[str]
    default_tolerance: ClassVar[int | None] = None
    options: ClassVar[frozenset[str]] = frozenset()
    # Not a ClassVar: providers whose header is configured (generic hmac, token) set it per instance.
    signature_headers: frozenset[str] = frozenset()
    default_delivery_id: ClassVar[str | None] = None
    default_event_type: ClassVar[str | None] = None
    #: True for providers that sign the request URL (the gateway then passes ``Delivery.url``).
    signs_url: ClassVar[bool] = False
    #: Lower-case names of headers whose value *is* the credential (a token, basic auth): the gateway
    #: stores and shows them as ``[redacted]`` and never forwards them. Per instance where configured.
    credential_headers: frozenset[str] = frozenset()
    #: True for providers whose endpoint check is a GET (Okta): the gateway then routes GET to ``handshake``.
    answers_get: ClassVar[bool] = False
    #: True for providers whose ``verify`` or ``handshake`` may wait on the network (a certificate to
    #: fetch, a subscription to confirm): the gateway then runs them on a thread, off its event loop.
    blocking: ClassVar[bool] = False
    #: True for providers that check a new endpoint with an unsigned HEAD that must answer 200 (Trello):
    #: the gateway answers it, storing nothing.
    answers_head: ClassVar[bool] = False

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        tolerance: int | None = None,
        clock: Clock = time.time,
        delivery_id: str | None = None,
        event_type: str | None = None,
        **options: Any,
    ) -> None:
        if isinstance(secrets, str | bytes) or not secrets:
            raise ConfigurationError(f"{self.name}: give a non-empty list of secrets")
        for index, secret in enumerate(secrets):
            if not isinstance(secret, str) or not secret:
                raise ConfigurationError(f"{self.name}: secret #{index + 1} must be a non-empty string")
        unknown = sorted(set(options) - self.options)
        if unknown:
            accepted = ", ".join(sorted(self.options)) or "none"
            raise ConfigurationError(f"{self.name}: unknown option {unknown[0]!r} (accepted: {accepted})")
        if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, int)):
            raise ConfigurationError(f"{self.name}: tolerance must be a whole number of seconds")
        if tolerance is not None and tolerance < 0:
            raise ConfigurationError(f"{self.name}: tolerance must not be negative, got {tolerance}")
        self.secrets: tuple[str, ...] = tuple(secrets)
        self.tolerance: int | None = self.default_tolerance if tolerance is None else tolerance
        self.clock = clock
        id_spec = delivery_id or self.default_delivery_id
        type_spec = event_type or self.default_event_type
        self._delivery_id = Locator.parse(id_spec) if id_spec else None
        self._event_type = Locator.parse(type_spec) if type_spec else None
        self._configure(options)
        self._keys: tuple[bytes, ...] = tuple(self._key(index, s) for index, s in enumerate(self.secrets))

    def _configure(self, options: Mapping[str, Any]) -> None:
        """Validate and keep this provider's options; does nothing by default."""
        return

    def _key(self, index: int, secret: str) -> bytes:
        """The HMAC key for a configured secret; its UTF-8 bytes by default."""
        return secret.encode("utf-8")

    @abstractmethod
    def verify(self, delivery: Delivery) -> None:
        """Raise a VerificationError unless the delivery is signed with one of the secrets."""

    def delivery_id(self, delivery: Delivery) -> str | None:
        """The sender's id for this delivery, None when absent."""
        return self._delivery_id.find(delivery) if self._delivery_id else None

    def event_type(self, delivery: Delivery) -> str | None:
        """The sender's event type for this delivery, None when absent."""
        return self._event_type.find(delivery) if self._event_type else None

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        """The headers a real sender would attach to ``body``, signed with the first secret."""
        raise SigningNotSupported(f"{self.name} signs with a private key that hookgate cannot hold")

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """The answer to a verified endpoint-verification request; None for ordinary deliveries."""
        return None

    def _header(self, delivery: Delivery, name: str) -> str:
        value = delivery.header(name)
        if value is None:
            raise MissingHeader(f"missing {name} header")
        return value

    def _check_time(self, timestamp: int) -> None:
        if self.tolerance is not None:
            check_timestamp(timestamp, now=self.clock(), tolerance=self.tolerance)

    def _now(self, timestamp: int | None) -> int:
        return int(self.clock()) if timestamp is None else timestamp

    def _locator_headers(self, delivery_id: str | None, event_type: str | None) -> dict[str, str]:
        """Headers carrying the delivery id and event type, where this verifier reads them from headers."""
        headers: dict[str, str] = {}
        for locator, value in ((self._delivery_id, delivery_id), (self._event_type, event_type)):
            if locator is not None and locator.kind == "header" and value is not None:
                headers[locator.path] = value
        return headers

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} with {len(self.secrets)} secret(s)>"
