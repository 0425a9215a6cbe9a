"""Signed sample deliveries for ``hookgate send-test``, shaped the way each provider sends them."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import signatures
from gateway.config import SourceSettings

_DEFAULT_EVENT = {
    "github": "push",
    "gitlab": "Push Hook",
    "stripe": "payment_intent.succeeded",
    "shopify": "orders/create",
    "mailgun": "delivered",
    "adyen": "AUTHORISATION",
}


class SignableSource(Protocol):
    """What a sample needs of a source the gateway built (``gateway.ingest.sources.SourceConfig``)."""

    @property
    def settings(self) -> SourceSettings: ...

    @property
    def verifier(self) -> signatures.Verifier: ...

    @property
    def public_url(self) -> str: ...


@dataclass(frozen=True)
class SampleRequest:
    url: str
    body: bytes
    headers: dict[str, str]
    event_type: str


def sample_body(event_type: str, delivery_id: str) -> bytes:
    """A small JSON body carrying the id and type under the keys most providers use."""
    document: dict[str, Any] = {
        "id": delivery_id,
        "event_id": delivery_id,
        "type": event_type,
        "event_type": event_type,
        "object": "event",
        "created": int(time.time()),
        "event": {"id": delivery_id, "type": event_type, "event_type": event_type},
        "ref": "refs/heads/main",
        "repository": {"full_name": "hookgate/send-test"},
        "data": {"message": "a test delivery from hookgate send-test"},
    }
    return json.dumps(document).encode()


def signed_sample(
    source: SignableSource, target: str, *, event_type: str | None, delivery_id: str, body: bytes | None
) -> SampleRequest:
    """A request the gateway must accept for ``source``, posted to ``target``.

    Raises ``signatures.SigningNotSupported`` for providers that sign with a private key.
    """
    from signatures.providers.adyen import AdyenVerifier
    from signatures.providers.mailgun import MailgunVerifier
    from signatures.providers.twilio import with_body_hash

    provider = source.settings.provider
    verifier = source.verifier
    event_type = event_type or _DEFAULT_EVENT.get(provider, "hookgate.test")
    signed_url = source.public_url or target
    json_type = {"Content-Type": "application/json"}

    if isinstance(verifier, MailgunVerifier) and body is None:
        event = {"id": delivery_id, "event": event_type, "timestamp": time.time()}
        return SampleRequest(target, verifier.sign_body(event), json_type, event_type)
    if isinstance(verifier, AdyenVerifier) and body is None:  # a standard webhook signs each item's fields
        item = {
            "pspReference": delivery_id,
            "merchantAccountCode": "HookgateSendTest",
            "merchantReference": "send-test",
            "amount": {"value": 1000, "currency": "EUR"},
            "eventCode": event_type,
            "success": "true",
            "eventDate": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        }
        return SampleRequest(target, verifier.sign_body(item), json_type, event_type)
    if provider == "twilio" and body is None:
        form = urlencode(
            {"MessageSid": "SM" + os.urandom(16).hex(), "Body": "a test from hookgate send-test"}
        )
        headers = verifier.sign(form.encode(), delivery_id=delivery_id, url=signed_url, form=True)  # type: ignore[call-arg]
        return SampleRequest(target, form.encode(), headers, event_type)

    body = sample_body(event_type, delivery_id) if body is None else body
    extra: dict[str, Any] = {}
    if verifier.signs_url:
        if provider == "twilio":  # a JSON body is signed through a bodySHA256 query parameter
            target, signed_url = with_body_hash(target, body), with_body_hash(signed_url, body)
        extra["url"] = signed_url
    headers = verifier.sign(body, delivery_id=delivery_id, event_type=event_type, **extra)
    return SampleRequest(target, body, {**json_type, **headers}, event_type)
