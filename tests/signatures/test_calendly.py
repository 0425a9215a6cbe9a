"""Calendly: Calendly-Webhook-Signature: t=<unix>,v1=<hex>, HMAC-SHA256 over "{t}." + body, three minutes.

No SDK verifies Calendly's webhooks; the vectors follow
https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures (split the header on "," then
"="; hex HMAC-SHA256 of ``t + "." + raw body`` under the webhook signing key; refuse a ``t`` older than
three minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

HEADER = "Calendly-Webhook-Signature"
KEY = "e4b7c2d1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3"
NOW = 1_700_000_000
BODY = json.dumps(
    {
        "created_at": "2023-11-14T22:13:20.000000Z",
        "created_by": "https://api.calendly.com/users/AAAAAAAAAAAAAAAA",
        "event": "invitee.created",
        "payload": {"uri": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAA"},
    }
).encode()


def calendly_header(body: bytes = BODY, key: str = KEY, timestamp: int = NOW) -> str:
    signature = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def verifier(secrets: list[str] | None = None, now: int = NOW, **config: object) -> signatures.Verifier:
    return signatures.build("calendly", secrets or [KEY], clock=lambda: float(now), **config)


def verify(header: str, body: bytes = BODY, secrets: list[str] | None = None, now: int = NOW) -> None:
    verifier(secrets, now).verify(Delivery(body, {HEADER: header}))


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, calendly_header())


def test_sign_reproduces_it() -> None:
    headers = verifier().sign(BODY, timestamp=NOW, delivery_id="ignored", event_type="ignored")
    assert headers == {HEADER: calendly_header()}


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(calendly_header(), body=BODY.replace(b"invitee.created", b"invitee.canceled"))


def test_signature_does_not_transfer_to_another_timestamp() -> None:
    with pytest.raises(SignatureMismatch):
        verify(calendly_header().replace(f"t={NOW}", f"t={NOW + 1}"))


def test_wrong_key() -> None:
    with pytest.raises(SignatureMismatch):
        verify(calendly_header(key="another signing key"))


def test_rotated_key_matches() -> None:
    assert_accepts(verify, calendly_header(key="old key"), secrets=["new key", "old key"])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize("value", ["", "garbage", f"v1={'0' * 64}", f"t={NOW}", f"t=soon,v1={'0' * 64}"])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify(value)


@pytest.mark.parametrize("offset", [-181, 181])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(calendly_header(), now=NOW + offset)


@pytest.mark.parametrize("offset", [-180, 180])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, calendly_header(), now=NOW + offset)


def test_tolerance_is_configurable() -> None:
    assert_accepts(verifier(now=NOW + 600, tolerance=600), Delivery(BODY, {HEADER: calendly_header()}))


def test_event_type_and_no_delivery_id() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().event_type(delivery) == "invitee.created"
    # payload.uri names the invitee, shared by invitee.created and invitee.canceled: the body is hashed.
    assert verifier().delivery_id(delivery) is None


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    header=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="0123456789abcdef", max_size=64).map(lambda tail: f"t={NOW},v1={tail}"),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str) -> None:
    delivery = Delivery(body, {HEADER: header})
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), offset=st.integers(-180, 180))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, offset: int) -> None:
    headers = verifier().sign(body, timestamp=NOW + offset)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier(["another key"]).verify(Delivery(body, headers))
