"""Telnyx: Ed25519 over "timestamp|body", checked against the telnyx SDK's verifier with a key we generate."""

from __future__ import annotations

import base64
import json
import time

import pytest
import telnyx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st
from telnyx.lib.webhook_verification import WebhookVerificationError, verify_webhook_signature

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SigningNotSupported,
    TimestampOutOfTolerance,
    VerificationError,
)
from tests.signatures.assertions import assert_accepts

SIGNATURE = "telnyx-signature-ed25519"
TIMESTAMP = "telnyx-timestamp"
NOW = 1_700_000_000
# The shape of a messaging event in Telnyx's webhook docs (API v2).
BODY = json.dumps(
    {
        "data": {
            "event_type": "message.received",
            "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
            "occurred_at": "2024-01-15T20:16:07.588+00:00",
            "payload": {"direction": "inbound", "text": "Hello from Telnyx!", "type": "SMS"},
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://hooks.example.com/webhooks/telnyx"},
    }
).encode()


def keypair() -> tuple[ed25519.Ed25519PrivateKey, str]:
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, base64.b64encode(raw).decode()


PRIVATE, PUBLIC = keypair()
OTHER_PRIVATE, OTHER_PUBLIC = keypair()


def sign(
    body: bytes = BODY, timestamp: int = NOW, key: ed25519.Ed25519PrivateKey = PRIVATE
) -> dict[str, str]:
    """Sign as Telnyx does: Ed25519 over "<timestamp>|<body>", base64."""
    signature = key.sign(f"{timestamp}|".encode() + body)
    return {SIGNATURE: base64.b64encode(signature).decode(), TIMESTAMP: str(timestamp)}


def verifier(keys: list[str] | None = None, now: float = NOW, **config: object) -> signatures.Verifier:
    return signatures.build("telnyx", keys or [PUBLIC], clock=lambda: now, **config)


def test_the_telnyx_sdk_and_we_agree() -> None:
    now = int(time.time())  # the SDK checks its five minutes against the real clock
    headers = sign(timestamp=now)
    verify_webhook_signature(BODY, headers, PUBLIC)
    event = telnyx.Telnyx(api_key="KEY_test", public_key=PUBLIC).webhooks.unwrap(
        BODY.decode(), headers=headers
    )
    assert event.data is not None
    assert event.data.event_type == "message.received"
    assert_accepts(verifier(now=now), Delivery(BODY, headers))


@pytest.mark.parametrize(
    ("body", "key"), [(BODY + b" ", PUBLIC), (BODY, OTHER_PUBLIC)], ids=["tampered", "other key"]
)
def test_the_sdk_and_we_refuse_the_same_forgeries(body: bytes, key: str) -> None:
    now = int(time.time())
    headers = sign(timestamp=now)
    with pytest.raises(WebhookVerificationError):
        verify_webhook_signature(body, headers, key)
    with pytest.raises(SignatureMismatch):
        verifier([key], now=now).verify(Delivery(body, headers))


def test_signature_does_not_transfer_to_another_timestamp() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, {**sign(), TIMESTAMP: str(NOW + 1)}))


def test_rotated_key_matches() -> None:
    assert_accepts(verifier([PUBLIC, OTHER_PUBLIC]), Delivery(BODY, sign(key=OTHER_PRIVATE)))


@pytest.mark.parametrize("missing", [SIGNATURE, TIMESTAMP])
def test_missing_header(missing: str) -> None:
    headers = {k: v for k, v in sign().items() if k != missing}
    with pytest.raises(MissingHeader, match=missing):
        verifier().verify(Delivery(BODY, headers))


@pytest.mark.parametrize(
    "headers",
    [
        {SIGNATURE: "not base64!", TIMESTAMP: str(NOW)},
        {SIGNATURE: base64.b64encode(b"\x00" * 63).decode(), TIMESTAMP: str(NOW)},
        {SIGNATURE: "ab" * 64, TIMESTAMP: str(NOW)},  # Discord's hex, not Telnyx's base64
        {SIGNATURE: "", TIMESTAMP: str(NOW)},
        {SIGNATURE: base64.b64encode(b"\x00" * 64).decode(), TIMESTAMP: "2024-01-15T20:16:07Z"},
    ],
)
def test_malformed_header(headers: dict[str, str]) -> None:
    with pytest.raises(MalformedHeader):
        verifier().verify(Delivery(BODY, headers))


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier().verify(Delivery(BODY, sign(timestamp=NOW + offset)))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verifier(), Delivery(BODY, sign(timestamp=NOW + offset)))


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"k" * 31).decode(), "ab" * 32])
def test_bad_key_is_a_configuration_error_that_does_not_echo_it(key: str) -> None:
    with pytest.raises(ConfigurationError, match="telnyx") as caught:
        verifier([key])
    assert key not in str(caught.value)


def test_signing_is_not_supported() -> None:
    with pytest.raises(SigningNotSupported):
        verifier().sign(BODY)


def test_delivery_id_and_event_type_come_from_data() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "b301ed3f-1490-491f-995f-6e64e69674d4"
    assert verifier().event_type(delivery) == "message.received"


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from([SIGNATURE, TIMESTAMP, "x-other"]),
        st.one_of(
            st.text(max_size=90),
            st.just(str(NOW)),
            st.binary(min_size=64, max_size=64).map(lambda raw: base64.b64encode(raw).decode()),
        ),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, headers: dict[str, str]) -> None:
    delivery = Delivery(body, headers)
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=50, deadline=None)
@given(body=st.binary(max_size=256), offset=st.integers(-300, 300))
def test_signed_deliveries_verify_only_under_the_signing_key(body: bytes, offset: int) -> None:
    headers = sign(body, timestamp=NOW + offset)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier([OTHER_PUBLIC]).verify(Delivery(body, headers))
