"""Discord: Ed25519 over timestamp + body, checked with discord-interactions; PING handshakes."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from discord_interactions import verify_key

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    Handshake,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SigningNotSupported,
    TimestampOutOfTolerance,
)
from tests.signatures.assertions import assert_accepts

SIGNATURE = "X-Signature-Ed25519"
TIMESTAMP = "X-Signature-Timestamp"
NOW = 1_700_000_000
APP = "1234567890123456789"
INTERACTION_PING = json.dumps({"type": 1, "id": "1180000000000000000", "application_id": APP}).encode()
COMMAND = json.dumps(
    {"type": 2, "id": "1180000000000000001", "application_id": APP, "token": "t", "data": {"name": "hi"}}
).encode()
# Webhook events, per discord.com/developers/docs/events/webhook-events (PING carries no "event").
WEBHOOK_PING = json.dumps({"version": 1, "application_id": APP, "type": 0}).encode()
WEBHOOK_EVENT = json.dumps(
    {
        "version": 1,
        "application_id": APP,
        "type": 1,
        "event": {"type": "APPLICATION_AUTHORIZED", "timestamp": "2024-10-18T14:42:53.064834", "data": {}},
    }
).encode()


def keypair() -> tuple[ed25519.Ed25519PrivateKey, str]:
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, raw.hex()


PRIVATE, PUBLIC = keypair()
OTHER_PRIVATE, OTHER_PUBLIC = keypair()


def sign(
    body: bytes = COMMAND, timestamp: int = NOW, key: ed25519.Ed25519PrivateKey = PRIVATE
) -> dict[str, str]:
    """Sign as Discord does: Ed25519 over the timestamp text followed by the raw body, hex."""
    return {SIGNATURE: key.sign(str(timestamp).encode() + body).hex(), TIMESTAMP: str(timestamp)}


def verifier(keys: list[str] | None = None, now: int = NOW, **config: object) -> signatures.Verifier:
    return signatures.build("discord", keys or [PUBLIC], clock=lambda: float(now), **config)


def test_discord_interactions_and_we_agree() -> None:
    headers = sign()
    assert verify_key(COMMAND, headers[SIGNATURE], headers[TIMESTAMP], PUBLIC)
    assert_accepts(verifier(), Delivery(COMMAND, headers))


def test_wrong_key_and_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(COMMAND, sign(key=OTHER_PRIVATE)))
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(COMMAND + b" ", sign()))


def test_signature_does_not_transfer_to_another_timestamp() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(COMMAND, {**sign(), TIMESTAMP: str(NOW + 1)}))


def test_rotated_key_matches() -> None:
    assert_accepts(verifier([PUBLIC, OTHER_PUBLIC]), Delivery(COMMAND, sign(key=OTHER_PRIVATE)))


@pytest.mark.parametrize("missing", [SIGNATURE, TIMESTAMP])
def test_missing_header(missing: str) -> None:
    headers = {k: v for k, v in sign().items() if k != missing}
    with pytest.raises(MissingHeader, match=missing):
        verifier().verify(Delivery(COMMAND, headers))


@pytest.mark.parametrize(
    "headers",
    [
        {SIGNATURE: "zz" * 64, TIMESTAMP: str(NOW)},
        {SIGNATURE: "ab" * 63, TIMESTAMP: str(NOW)},
        {SIGNATURE: "", TIMESTAMP: str(NOW)},
        {SIGNATURE: "ab" * 64, TIMESTAMP: "now"},
    ],
)
def test_malformed_header(headers: dict[str, str]) -> None:
    with pytest.raises(MalformedHeader):
        verifier().verify(Delivery(COMMAND, headers))


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier().verify(Delivery(COMMAND, sign(timestamp=NOW + offset)))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verifier(), Delivery(COMMAND, sign(timestamp=NOW + offset)))


@pytest.mark.parametrize("key", ["not hex", "ab" * 31, "ab" * 33, ""])
def test_bad_key_is_a_configuration_error_that_does_not_echo_it(key: str) -> None:
    with pytest.raises(ConfigurationError, match="discord") as caught:
        verifier([key])
    if key:
        assert key not in str(caught.value)


def test_signing_is_not_supported() -> None:
    with pytest.raises(SigningNotSupported):
        verifier().sign(COMMAND)


def test_interaction_ping_is_answered_with_pong() -> None:
    delivery = Delivery(INTERACTION_PING, sign(INTERACTION_PING))
    assert_accepts(verifier(), delivery)
    assert verifier().handshake(delivery) == Handshake(200, b'{"type": 1}', "application/json")


def test_webhook_event_ping_is_answered_with_204() -> None:
    delivery = Delivery(WEBHOOK_PING, sign(WEBHOOK_PING))
    assert_accepts(verifier(), delivery)
    answer = verifier().handshake(delivery)
    assert answer is not None
    assert (answer.status, answer.body) == (204, b"")


@pytest.mark.parametrize("body", [COMMAND, WEBHOOK_EVENT, b'{"type": true}', b"not json"])
def test_no_handshake_for_ordinary_deliveries(body: bytes) -> None:
    assert verifier().handshake(Delivery(body, sign(body))) is None


def test_event_type_and_delivery_id() -> None:
    event = Delivery(WEBHOOK_EVENT, {})
    command = Delivery(COMMAND, {})
    assert verifier().event_type(event) == "APPLICATION_AUTHORIZED"
    assert verifier().delivery_id(event) is None  # webhook events carry no id: the gateway hashes the body
    assert verifier().event_type(command) == "2"
    assert verifier().delivery_id(command) == "1180000000000000001"
    assert verifier(event_type="json:data.name").event_type(command) == "hi"
