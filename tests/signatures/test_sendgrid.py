"""SendGrid signed Event Webhook: ECDSA P-256, checked with the SDK's vector and its verifier."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sendgrid.helpers.eventwebhook import EventWebhook

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SigningNotSupported,
    TimestampOutOfTolerance,
)
from tests.signatures.assertions import assert_accepts

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"

# The vector from sendgrid-python's test/unit/test_eventwebhook.py.
SDK_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpi"
    "glSI8eNEc6wEA3F+g=="
)
SDK_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
)
SDK_TIMESTAMP = 1600112502
SDK_BODY = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()
NOW = 1_700_000_000
BODY = b'[{"email":"a@example.com","event":"delivered","sg_event_id":"evt-1","timestamp":1699999990}]\r\n'


def keypair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()


PRIVATE, PUBLIC = keypair()
OTHER_PRIVATE, OTHER_PUBLIC = keypair()


def sign(
    body: bytes = BODY, timestamp: int = NOW, key: ec.EllipticCurvePrivateKey = PRIVATE
) -> dict[str, str]:
    """Sign as SendGrid does: ECDSA P-256/SHA-256 over timestamp + body, base64 DER."""
    signature = key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {SIGNATURE: base64.b64encode(signature).decode(), TIMESTAMP: str(timestamp)}


def verifier(keys: list[str] | None = None, now: int = NOW) -> signatures.Verifier:
    return signatures.build("sendgrid", keys or [PUBLIC], clock=lambda: float(now))


def test_sdk_vector() -> None:
    headers = {SIGNATURE: SDK_SIGNATURE, TIMESTAMP: str(SDK_TIMESTAMP)}
    assert_accepts(verifier([SDK_KEY], now=SDK_TIMESTAMP), Delivery(SDK_BODY, headers))


def test_sdk_vector_tampered_body() -> None:
    headers = {SIGNATURE: SDK_SIGNATURE, TIMESTAMP: str(SDK_TIMESTAMP)}
    with pytest.raises(SignatureMismatch):
        verifier([SDK_KEY], now=SDK_TIMESTAMP).verify(Delivery(SDK_BODY.rstrip(), headers))


def test_sdk_and_we_agree_on_a_fresh_signature() -> None:
    headers = sign()
    sdk = EventWebhook(PUBLIC)
    assert sdk.verify_signature(BODY.decode(), headers[SIGNATURE], headers[TIMESTAMP])
    assert_accepts(verifier(), Delivery(BODY, headers))


def test_wrong_key_and_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, sign(key=OTHER_PRIVATE)))
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY + b" ", sign()))


def test_signature_does_not_transfer_to_another_timestamp() -> None:
    headers = {**sign(), TIMESTAMP: str(NOW + 1)}
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, headers))


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
        {SIGNATURE: "", TIMESTAMP: str(NOW)},
        {SIGNATURE: "MEUCIQ==", TIMESTAMP: "yesterday"},
    ],
)
def test_malformed_header(headers: dict[str, str]) -> None:
    with pytest.raises(MalformedHeader):
        verifier().verify(Delivery(BODY, headers))


def test_garbage_der_signature_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, {SIGNATURE: "AAAA", TIMESTAMP: str(NOW)}))


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier().verify(Delivery(BODY, sign(timestamp=NOW + offset)))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verifier(), Delivery(BODY, sign(timestamp=NOW + offset)))


def test_accepts_the_key_as_pem() -> None:
    pem = PRIVATE.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert_accepts(verifier([pem.decode()]), Delivery(BODY, sign()))


def ed25519_key() -> str:
    raw = ed25519.Ed25519PrivateKey.generate().public_key()
    der = raw.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.mark.parametrize("key", ["not a key", "c2VjcmV0LWtleQ==", PUBLIC[:-8], "ed25519"])
def test_bad_key_is_a_configuration_error_that_does_not_echo_it(key: str) -> None:
    key = ed25519_key() if key == "ed25519" else key
    with pytest.raises(ConfigurationError, match="sendgrid") as caught:
        verifier([key])
    assert key not in str(caught.value)
    assert caught.value.__cause__ is None


def test_signing_is_not_supported() -> None:
    with pytest.raises(SigningNotSupported):
        verifier().sign(BODY)


def test_no_default_delivery_id_or_event_type_for_a_batch() -> None:
    delivery = Delivery(BODY, sign())
    assert verifier().delivery_id(delivery) is None
    assert verifier().event_type(delivery) is None
    configured = signatures.build("sendgrid", [PUBLIC], event_type="json:0.event")
    assert configured.event_type(delivery) == "delivered"
