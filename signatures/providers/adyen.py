"""Adyen: standard webhooks sign each notification item's fields, HMAC-SHA256 under a hex key, base64, in
the item's ``additionalData.hmacSignature``; other webhook types sign the raw body in ``HmacSignature``."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import (
    ConfigurationError,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SigningNotSupported,
)
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["AdyenVerifier"]

_HEADER = "HmacSignature"
_ITEMS = "notificationItems"
_ITEM = "NotificationRequestItem"
# The signed fields, in order, joined with ":" (a missing one is the empty string).
_FIELDS = ("pspReference", "originalReference", "merchantAccountCode", "merchantReference")
_TAIL_FIELDS = ("eventCode", "success")


def _text(value: Any) -> str | None:
    """A field as the signing string holds it; None for a value no signed field can have."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    return None


def _signing_string(item: Mapping[str, Any], position: int) -> str:
    """``pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success``."""
    amount = item.get("amount")
    if amount is not None and not isinstance(amount, dict):
        raise MalformedHeader(f"notification item #{position}: amount must be an object")
    amount = amount or {}
    values = [
        *(item.get(name) for name in _FIELDS),
        amount.get("value"),
        amount.get("currency"),
        *(item.get(name) for name in _TAIL_FIELDS),
    ]
    texts = [_text(value) for value in values]
    if any(text is None for text in texts):
        raise MalformedHeader(f"notification item #{position}: a signed field is not text or a number")
    return ":".join(text or "" for text in texts)


def _items(body: Any) -> list[Any] | None:
    """The notification items of a standard webhook's body; None for a body of another webhook type."""
    if not isinstance(body, dict) or _ITEMS not in body:
        return None
    items = body[_ITEMS]
    if not isinstance(items, list) or not items:
        raise MalformedHeader(f"{_ITEMS} must be a non-empty list")
    return items


def _item(entry: Any, position: int) -> dict[str, Any]:
    item = entry.get(_ITEM) if isinstance(entry, dict) else None
    if not isinstance(item, dict):
        raise MalformedHeader(f"notification item #{position} holds no {_ITEM} object")
    return item


@register
class AdyenVerifier(Verifier):
    """Adyen webhooks (https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures);
    ``secrets`` hold the webhook's HMAC key(s) in hex, as the Customer Area shows them.

    Standard webhooks must use the JSON format. Every item of a batch must carry a matching signature: the
    SDK's ``is_valid_hmac_notification`` checks only the first, but the gateway stores and forwards the
    whole body. The signature covers those eight fields only, not ``additionalData``, ``eventDate`` or
    ``reason``. A body without ``notificationItems`` (Balance Platform, Management API webhooks) must carry
    ``HmacSignature``. Retries of an item keep its ``eventCode``, ``pspReference`` and ``success``, which
    together are the dedupe key (one ``pspReference`` alone spans the several events of a dispute).
    """

    name = "adyen"
    signature_headers = frozenset({_HEADER.lower()})

    def _key(self, index: int, secret: str) -> bytes:
        try:
            key = bytes.fromhex(secret.strip())
        except ValueError:
            key = b""
        if not key:
            raise ConfigurationError(f"adyen: secret #{index + 1} is not a hex HMAC key")
        return key

    def verify(self, delivery: Delivery) -> None:
        items = _items(delivery.json())
        if items is None:
            self._verify_body(delivery)
            return
        for position, entry in enumerate(items, start=1):
            item = _item(entry, position)
            extra = item.get("additionalData")
            given = extra.get("hmacSignature") if isinstance(extra, dict) else None
            if not isinstance(given, str) or not given:
                raise MissingHeader(f"notification item #{position} has no additionalData.hmacSignature")
            signed = _signing_string(item, position).encode("utf-8", "surrogatepass")
            if not matches_any((self._signature(key, signed) for key in self._keys), [given.strip()]):
                raise SignatureMismatch(
                    f"notification item #{position}: hmacSignature does not match its fields"
                )

    def _verify_body(self, delivery: Delivery) -> None:
        given = delivery.header(_HEADER)
        if given is None:
            raise MissingHeader(f"missing {_HEADER} header (and no {_ITEMS} in the body)")
        if not given.strip():
            raise MalformedHeader(f"{_HEADER} must hold a base64 digest")
        if not matches_any((self._signature(key, delivery.body) for key in self._keys), [given.strip()]):
            raise SignatureMismatch(f"{_HEADER} does not match the body")

    def delivery_id(self, delivery: Delivery) -> str | None:
        """A configured locator wins; else ``eventCode:pspReference:success`` of a standard webhook's item."""
        if self._delivery_id is not None:
            return self._delivery_id.find(delivery)
        item = self._first_item(delivery)
        if item is None:
            return None
        code, psp = item.get("eventCode"), item.get("pspReference")
        if not (isinstance(code, str) and code and isinstance(psp, str) and psp):
            return None
        return f"{code}:{psp}:{_text(item.get('success')) or ''}"

    def event_type(self, delivery: Delivery) -> str | None:
        """A configured locator wins; else a standard webhook's ``eventCode``, another type's ``type``."""
        if self._event_type is not None:
            return self._event_type.find(delivery)
        item = self._first_item(delivery)
        if item is not None:
            code = item.get("eventCode")
            return code if isinstance(code, str) else None
        body = delivery.json()
        kind = body.get("type") if isinstance(body, dict) else None
        return kind if isinstance(kind, str) else None

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
    ) -> dict[str, str]:
        """``HmacSignature`` for a body of a webhook type signed in the header; see ``sign_body``."""
        parsed = Delivery(body, {}).json()
        if isinstance(parsed, dict) and _ITEMS in parsed:
            raise SigningNotSupported("adyen signs standard webhooks inside the body: use sign_body()")
        return {
            **self._locator_headers(delivery_id, event_type),
            _HEADER: self._signature(self._keys[0], body),
        }

    def sign_body(self, item: Mapping[str, Any], *, live: bool = False) -> bytes:
        """A standard webhook's JSON body holding ``item``, signed with the first secret."""
        signed = copy.deepcopy(dict(item))
        extra = dict(signed.get("additionalData") or {})
        text = _signing_string(signed, 1).encode("utf-8", "surrogatepass")
        signed["additionalData"] = {**extra, "hmacSignature": self._signature(self._keys[0], text)}
        return json.dumps({"live": json.dumps(live), _ITEMS: [{_ITEM: signed}]}).encode()

    @staticmethod
    def _first_item(delivery: Delivery) -> dict[str, Any] | None:
        body = delivery.json()
        items = body.get(_ITEMS) if isinstance(body, dict) else None
        entry = items[0] if isinstance(items, list) and items else None
        item = entry.get(_ITEM) if isinstance(entry, dict) else None
        return item if isinstance(item, dict) else None

    @staticmethod
    def _signature(key: bytes, message: bytes) -> str:
        return encode(digest("sha256", key, message), "base64")
