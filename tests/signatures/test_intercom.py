"""Intercom: X-Hub-Signature sha1=<hex> HMAC-SHA1 of the body under the client secret.

No SDK of Intercom's verifies notifications and its docs sign no example: the expected signatures are
computed here as https://developers.intercom.com/docs/references/webhooks/webhook-models describes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch
from tests.signatures.assertions import assert_accepts

SECRET = "intercom-client-secret"
BODY = json.dumps(
    {
        "type": "notification_event",
        "app_id": "abc123",
        "id": "notif_4e3504a3-ba3f-46dc-ab48-8e4d5bdfdf4e",
        "topic": "conversation.user.created",
        "data": {"type": "notification_event_data", "item": {"type": "conversation", "id": "1"}},
        "created_at": 1571080403,
    }
).encode()


def intercom_signature(raw: bytes = BODY, secret: str = SECRET) -> str:
    """As Intercom documents it: sha1= and the hex HMAC-SHA1 of the raw body."""
    return "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("intercom", secrets or [SECRET])


def verify(signature: str, raw: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(raw, {"X-Hub-Signature": signature}))


def test_accepts_intercom_signature() -> None:
    assert_accepts(verify, intercom_signature())


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(intercom_signature(), BODY + b"\n")
    with pytest.raises(SignatureMismatch):
        verify(intercom_signature(secret="other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, intercom_signature(secret="old"), secrets=["new", "old"])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-Hub-Signature"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize("value", ["", "sha1=", "sha256=" + "0" * 64, "sha1=xyz", "0" * 40])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify(value)


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "notif_4e3504a3-ba3f-46dc-ab48-8e4d5bdfdf4e"
    assert verifier().event_type(delivery) == "conversation.user.created"


def test_ping_is_an_ordinary_event() -> None:
    ping = b'{"type": "notification_event", "topic": "ping", "id": "notif_ping"}'
    assert verifier().handshake(Delivery(ping, {"X-Hub-Signature": intercom_signature(ping)})) is None


def test_sign_verify_round_trip_and_no_options() -> None:
    headers = verifier().sign(BODY)
    assert headers == {"X-Hub-Signature": intercom_signature()}
    assert_accepts(verifier(), Delivery(BODY, headers))
    with pytest.raises(signatures.ConfigurationError, match="intercom"):
        signatures.build("intercom", [SECRET], header="X-Other")
