"""Mux: Mux-Signature t=<unix>,v1=<hex>, HMAC-SHA256 over "{t}." + body, five minutes of tolerance."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, TimestampOutOfTolerance
from tests.signatures.assertions import assert_accepts

SECRET = "mux-signing-secret"
NOW = 1_700_000_000
BODY = json.dumps(
    {"type": "video.asset.ready", "id": "3a56ac3d-33da-4366-855b-f592d898409d", "data": {"id": "asset-1"}}
).encode()


def mux_header(raw: bytes = BODY, secret: str = SECRET, timestamp: int = NOW) -> str:
    """As Mux's docs describe it: hex HMAC-SHA256 of "<t>.<body>" under the signing secret."""
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("mux", secrets or [SECRET], clock=lambda: float(NOW), **config)


def verify(header: str, raw: bytes = BODY, **config: object) -> None:
    verifier(**config).verify(Delivery(raw, {"Mux-Signature": header}))


def test_accepts_mux_signature() -> None:
    assert_accepts(verify, mux_header())


def test_any_v1_may_match() -> None:
    assert_accepts(verify, f"t={NOW},v1={'0' * 64},{mux_header().split(',')[1]}")


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(mux_header(), BODY + b" ")
    with pytest.raises(SignatureMismatch):
        verify(mux_header(secret="other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, mux_header(secret="old"), secrets=["new", "old"])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="Mux-Signature"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize("value", ["", "garbage", f"v1={'0' * 64}", f"t={NOW}", f"t=abc,v1={'0' * 64}"])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader, match="Mux-Signature"):
        verify(value)


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(mux_header(timestamp=NOW + offset))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, mux_header(timestamp=NOW + offset))


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "3a56ac3d-33da-4366-855b-f592d898409d"
    assert verifier().event_type(delivery) == "video.asset.ready"


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, timestamp=NOW)
    assert headers == {"Mux-Signature": mux_header()}
    assert_accepts(verifier(), Delivery(BODY, verifier().sign(BODY)))
