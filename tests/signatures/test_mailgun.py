"""Mailgun: HMAC-SHA256 hex of timestamp + token in the body's signature object, checked with the SDK."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from mailgun.security import SecurityGuard

import signatures
from signatures import (
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SigningNotSupported,
    TimestampOutOfTolerance,
)
from signatures.providers.mailgun import MailgunVerifier
from tests.signatures.assertions import assert_accepts

KEY = "key-0123456789abcdef0123456789abcdef"
NOW = 1_700_000_000
TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
EVENT = {"id": "CPgfbmQMTCKtHW6uIWtuVe", "event": "delivered", "recipient": "alice@example.com"}


def mailgun_signature(timestamp: str, token: str = TOKEN, key: str = KEY) -> str:
    """As Mailgun documents it: hex HMAC-SHA256 of timestamp and token concatenated."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def body(timestamp: int = NOW, key: str = KEY, **overrides: Any) -> bytes:
    block = {
        "timestamp": str(timestamp),
        "token": TOKEN,
        "signature": mailgun_signature(str(timestamp), key=key),
    }
    block.update(overrides)
    return json.dumps({"signature": block, "event-data": EVENT}).encode()


def verifier(secrets: list[str] | None = None) -> MailgunVerifier:
    built = signatures.build("mailgun", secrets or [KEY], clock=lambda: float(NOW))
    assert isinstance(built, MailgunVerifier)
    return built


def verify(raw: bytes, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(raw, {}))


def test_accepts_mailgun_signature() -> None:
    assert_accepts(verify, body())


def test_the_sdk_accepts_what_we_sign() -> None:
    raw = verifier().sign_body(EVENT, timestamp=NOW)
    block = json.loads(raw)["signature"]
    assert SecurityGuard.verify_webhook(KEY, block["token"], block["timestamp"], block["signature"], 0)
    assert_accepts(verify, raw)


def test_wrong_key_and_altered_token() -> None:
    with pytest.raises(SignatureMismatch):
        verify(body(key="key-other"))
    with pytest.raises(SignatureMismatch):
        verify(body(token=TOKEN[::-1]))


def test_rotated_key_matches() -> None:
    assert_accepts(verify, body(key="key-old"), secrets=["key-new", "key-old"])


def test_parent_signature_of_a_subaccount_matches() -> None:
    parent = mailgun_signature(str(NOW), key="key-parent")
    assert_accepts(verify, body(key="key-subaccount", **{"parent-signature": parent}), secrets=["key-parent"])


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", json.dumps({"event-data": EVENT}).encode()])
def test_missing_signature_object(raw: bytes) -> None:
    with pytest.raises(MissingHeader, match="signature"):
        verify(raw)


@pytest.mark.parametrize(
    "overrides",
    [{"token": ""}, {"token": None}, {"timestamp": "soon"}, {"timestamp": True}, {"signature": "xyz"}],
)
def test_malformed_signature_object(overrides: dict[str, Any]) -> None:
    with pytest.raises(MalformedHeader):
        verify(body(**overrides))


def test_integer_timestamp_is_accepted() -> None:
    assert_accepts(verify, body(timestamp=NOW).replace(f'"{NOW}"'.encode(), str(NOW).encode()))


@pytest.mark.parametrize("offset", [-901, 901])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(body(timestamp=NOW + offset))


@pytest.mark.parametrize("offset", [-900, 900])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, body(timestamp=NOW + offset))


def test_delivery_id_and_event_type_come_from_event_data() -> None:
    delivery = Delivery(body(), {})
    assert verifier().delivery_id(delivery) == "CPgfbmQMTCKtHW6uIWtuVe"
    assert verifier().event_type(delivery) == "delivered"


def test_header_signing_is_not_supported() -> None:
    with pytest.raises(SigningNotSupported, match="sign_body"):
        verifier().sign(body())
