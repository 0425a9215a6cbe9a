"""Xero: the intent-to-receive payload of the docs, rotation, refusals, and the 200-with-no-body answer.

Vector: the validation payload of https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/
signed as that page says (HMAC-SHA256 with the webhook key, base64), with a key of Xero's shape."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import (
    Delivery,
    Handshake,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    VerificationError,
)
from tests.signatures.assertions import assert_accepts

KEY = "Qm9uam91ciBYZXJvIQ9vCH3uYfKbvGTnFx4oL1dPLa8xw1nMsCyXR5a2zvJ3lHkE0Ng2ikD4tV+7b8sPZoMqWw=="
INTENT_TO_RECEIVE = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
SIGNATURE = "RlnD04D1bFKELTUYffISWHgg0hh2aajmUpC0cCvpewI="
EVENTS = (
    b'{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/717f2bfc","resourceId":"717f2bfc",'
    b'"eventDateUtc":"2026-01-15T11:59:58.153","eventType":"CREATE","eventCategory":"CONTACT",'
    b'"tenantId":"c2cc9b6e","tenantType":"ORGANISATION"}],"firstEventSequence":1,"lastEventSequence":1,'
    b'"entropy":"YOUWANTTHETRUTH"}'
)


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("xero", secrets or [KEY])


def verify(signature: str, body: bytes = INTENT_TO_RECEIVE, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, {"x-xero-signature": signature}))


def test_a_vector_from_the_documented_algorithm_and_its_answer() -> None:
    assert_accepts(verify, SIGNATURE)
    assert verifier().sign(INTENT_TO_RECEIVE) == {"x-xero-signature": SIGNATURE}
    delivery = Delivery(INTENT_TO_RECEIVE, {"x-xero-signature": SIGNATURE})
    assert verifier().handshake(delivery) == Handshake(200, b"", "text/plain", store=False)


def test_events_are_answered_200_with_no_body_too() -> None:
    delivery = Delivery(EVENTS, verifier().sign(EVENTS))
    assert_accepts(verifier(), delivery)
    assert verifier().handshake(delivery) == Handshake(200, b"", "text/plain")


def test_intent_to_receive_with_a_bad_signature_is_refused() -> None:
    # Xero sends incorrectly signed payloads too and wants 401 for them: the gateway's answer to this.
    with pytest.raises(SignatureMismatch):
        verify("c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZSwgbm90IFhlcm8=")


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SIGNATURE, body=INTENT_TO_RECEIVE.replace(b"S0m3", b"S0m4"))


def test_wrong_key() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SIGNATURE, secrets=["another-webhook-key"])


def test_rotated_key_matches() -> None:
    assert_accepts(verify, SIGNATURE, secrets=["new-webhook-key", KEY])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="x-xero-signature"):
        verifier().verify(Delivery(INTENT_TO_RECEIVE, {}))


@pytest.mark.parametrize(
    "value", ["", "not base64", SIGNATURE[:-4], SIGNATURE + "AAAA", "sha256=" + SIGNATURE]
)
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify(value)


def test_no_delivery_id_or_event_type_for_batches() -> None:
    assert verifier().delivery_id(Delivery(EVENTS, {})) is None
    assert verifier().event_type(Delivery(EVENTS, {})) is None


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from(["x-xero-signature", "X-Xero-Signature", "X-Other"]),
        st.one_of(st.text(max_size=60), st.text("ABCDEFabcdef0123456789+/=", min_size=44, max_size=44)),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(VerificationError):
        verifier().verify(Delivery(body, headers))


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), secret=st.text(min_size=1, max_size=40))
def test_sign_round_trips_only_under_the_same_key(body: bytes, secret: str) -> None:
    signed = verifier([secret]).sign(body)
    assert_accepts(verifier([secret]), Delivery(body, signed))
    with pytest.raises(VerificationError):
        verifier([secret + "x"]).verify(Delivery(body, signed))
