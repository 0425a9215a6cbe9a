"""Meta (Facebook, Instagram, WhatsApp, Messenger): ``X-Hub-Signature-256: sha256=<hex>``, HMAC-SHA256 of
the raw body under the App Secret; and the ``hub.challenge`` verification GET."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from signatures.base import Handshake
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MalformedHeader, MissingHeader, SignatureMismatch
from signatures.providers.hmac_generic import HmacVerifier
from signatures.registry import register

__all__ = ["MetaVerifier"]

_MODE, _TOKEN, _CHALLENGE = "hub.mode", "hub.verify_token", "hub.challenge"


def _query(delivery: Delivery) -> dict[str, str]:
    """The first value of each query parameter of the delivery's URL."""
    try:
        params = parse_qs(urlsplit(delivery.url).query, keep_blank_values=True)
    except ValueError:
        return {}
    return {name: values[0] for name, values in params.items()}


@register
class MetaVerifier(HmacVerifier):
    """Meta webhooks (https://developers.facebook.com/docs/graph-api/webhooks/getting-started).

    When the callback URL is saved, Meta sends ``GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…``:
    the GET is accepted when ``hub.verify_token`` equals the source's ``verify_token`` option, and answered
    with the challenge as text. Notifications batch entries and carry no id: the gateway dedupes on the body.
    ``signs_url`` is set only so that the gateway hands over the URL (and its query string): Meta does not
    sign it.
    """

    name = "meta"
    options = frozenset({"verify_token"})
    answers_get = True
    signs_url = True
    default_event_type = "json:object"

    def _configure(self, options: Mapping[str, Any]) -> None:
        token = options.get("verify_token")
        if token is not None and (not isinstance(token, str) or not token):
            raise ConfigurationError("meta: option 'verify_token' must be a non-empty string")
        self._verify_token = token.encode("utf-8", "surrogatepass") if token is not None else None
        super()._configure({"header": "X-Hub-Signature-256", "prefix": "sha256="})

    def verify(self, delivery: Delivery) -> None:
        if delivery.method.upper() != "GET":
            super().verify(delivery)
            return
        query = _query(delivery)
        given = query.get(_TOKEN)
        if given is None:
            raise MissingHeader(f"missing {_TOKEN} query parameter")
        if self._verify_token is None:
            raise SignatureMismatch(f"{_TOKEN} cannot match: the source sets no verify_token")
        if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self._verify_token):
            raise SignatureMismatch(f"{_TOKEN} does not match the source's verify_token")
        if query.get(_MODE) != "subscribe" or not query.get(_CHALLENGE):
            raise MalformedHeader(f"a verification GET needs {_MODE}=subscribe and a {_CHALLENGE}")

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """The challenge, as text, for the verification GET; None for notifications."""
        challenge = _query(delivery).get(_CHALLENGE) if delivery.method.upper() == "GET" else None
        if not challenge:
            return None
        return Handshake(200, challenge.encode("utf-8", "surrogatepass"), "text/plain", store=False)

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
        url: str = "",
    ) -> dict[str, str]:
        """Sign ``body`` as Meta does; ``url`` is accepted as for the URL-signing providers, and unused."""
        return super().sign(body, delivery_id=delivery_id, event_type=event_type)
