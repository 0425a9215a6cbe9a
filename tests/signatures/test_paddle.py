"""Paddle Billing: the SDK's vector, the SDK verifying what we sign, the five-second tolerance, rotation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paddle_billing.Notifications import PaddleSignature, Secret
from paddle_billing.Notifications import Verifier as SdkVerifier

import signatures
from signatures import (
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    TimestampOutOfTolerance,
    VerificationError,
)
from tests.signatures.assertions import assert_accepts

# paddle-python-sdk tests/Unit/Notification/test_Verifier.py: three destination secrets, the
# third signed; the header also carries a bogus h1.
SDK_HEADER = "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"
SDK_BODY = b"hello-world"
SDK_SECRETS = [
    "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_TjIG2BXbm83HPXqNfziwe506sBEdqL/4",
    "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_vB/yIOnTOCWIvpBadM5jzBZPHc7OmdSo",
    "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh",
]

SECRET = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI"
NOW = 1_700_000_000
BODY = json.dumps(
    {
        "event_id": "evt_01h8bzakzx3hm2fmen703n5q45",
        "event_type": "transaction.paid",
        "occurred_at": "2023-08-21T11:57:47.390028Z",
        "notification_id": "ntf_01h8bzam1z32agrxjwhjgqk8w6",
        "data": {"id": "txn_01h8bz7yhpwxdjp7dsdhrjzn8q", "status": "paid"},
    }
).encode()


@dataclass
class SdkRequest:
    """What paddle_billing's Verifier reads from a framework request."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def verifier(secrets: list[str] | None = None, now: int = NOW, **config: object) -> signatures.Verifier:
    return signatures.build("paddle", secrets or [SECRET], clock=lambda: float(now), **config)


def header_for(body: bytes = BODY, secret: str = SECRET, timestamp: int = NOW) -> str:
    signature = PaddleSignature.calculate_hmac(secret, f"{timestamp}:".encode() + body).hexdigest()
    return f"ts={timestamp};h1={signature}"


def verify(header: str, body: bytes = BODY, **config: object) -> None:
    verifier(**config).verify(Delivery(body, {"Paddle-Signature": header}))


def test_sdk_vector_with_rotated_secrets() -> None:
    assert_accepts(
        verifier(SDK_SECRETS, now=1696195954), Delivery(SDK_BODY, {"Paddle-Signature": SDK_HEADER})
    )


def test_sdk_vector_refused_without_the_signing_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verifier(SDK_SECRETS[:2], now=1696195954).verify(Delivery(SDK_BODY, {"Paddle-Signature": SDK_HEADER}))


def test_sdk_verifies_what_we_sign() -> None:
    headers = verifier().sign(BODY)
    # maximum_variance=0 turns off the SDK's own clock check, which reads the real time.
    assert SdkVerifier(0).verify(SdkRequest(BODY, headers), Secret(SECRET))


def test_accepts_the_sdk_hmac() -> None:
    assert_accepts(verify, header_for())


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(header_for(), body=BODY.replace(b"paid", b"free"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(header_for(secret="pdl_ntfset_other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, header_for(secret="pdl_old"), secrets=["pdl_new", "pdl_old"])


def test_several_h1_and_unknown_keys() -> None:
    good = header_for().split(";")[1]
    assert_accepts(verify, f"ts={NOW};h1={'0' * 64};{good};h2=future")


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="Paddle-Signature"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"h1={'0' * 64}",
        f"ts={NOW}",
        f"ts=abc;h1={'0' * 64}",
        f"ts={NOW};ts={NOW};h1=00",
        "ts=-1;h1=00",
    ],
)
def test_malformed_header(header: str) -> None:
    with pytest.raises(MalformedHeader, match="Paddle-Signature"):
        verify(header)


@pytest.mark.parametrize("offset", [-6, 6])
def test_timestamps_beyond_the_sdk_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(header_for(timestamp=NOW + offset))


@pytest.mark.parametrize("offset", [-5, 5])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, header_for(timestamp=NOW + offset))


def test_tolerance_is_configurable() -> None:
    assert_accepts(verify, header_for(timestamp=NOW - 60), tolerance=300)


def test_forged_stale_delivery_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        verify(header_for(secret="other", timestamp=NOW - 10_000))


def test_delivery_id_and_event_type_come_from_the_body() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "evt_01h8bzakzx3hm2fmen703n5q45"
    assert verifier().event_type(delivery) == "transaction.paid"
    per_notification = verifier(delivery_id="json:notification_id")
    assert per_notification.delivery_id(delivery) == "ntf_01h8bzam1z32agrxjwhjgqk8w6"


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, delivery_id="ignored", event_type="ignored")
    assert set(headers) == {"Paddle-Signature"}
    assert_accepts(verifier(), Delivery(BODY, headers))


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    header=st.one_of(st.text(max_size=80), st.text(f"ts={NOW};h1=0123456789abcdef", max_size=90)),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str) -> None:
    with pytest.raises(VerificationError):
        verifier().verify(Delivery(body, {"Paddle-Signature": header}))
