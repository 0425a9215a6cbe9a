"""Jira admin webhooks: X-Hub-Signature sha256=<hex>, the delivery identifier and the event type.

Vector: a jira:issue_created body signed as https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks
says (HMAC-SHA256 of the body with the webhook's secret, ``sha256=`` + hex)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

SECRET = "jira-webhook-secret-8c1f0e3b2d"
BODY = (
    b'{"timestamp":1768478398000,"webhookEvent":"jira:issue_created","issue_event_type_name":"issue_created",'
    b'"issue":{"id":"10001","key":"HG-7"}}'
)
SIGNATURE = "sha256=a90ee5ef967e81222352fb1447f3953ccc1baf3a5fc91bdb9d355bbc4970dac6"


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("jira", secrets or [SECRET])


def verify(signature: str, body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, {"X-Hub-Signature": signature}))


def test_a_vector_computed_from_the_documented_algorithm() -> None:
    assert_accepts(verify, SIGNATURE)
    assert_accepts(verify, "sha256=" + SIGNATURE[7:].upper())
    assert verifier().sign(BODY)["X-Hub-Signature"] == SIGNATURE


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SIGNATURE, body=BODY.replace(b"HG-7", b"HG-8"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SIGNATURE, secrets=["not the secret"])


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, SIGNATURE, secrets=["new secret", SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-Hub-Signature"):
        verifier().verify(Delivery(BODY, {"X-Hub-Signature-256": SIGNATURE}))


@pytest.mark.parametrize(
    "value", ["", SIGNATURE[7:], "sha1=" + SIGNATURE[7:47], "sha512=" + SIGNATURE[7:], "sha256=xyz"]
)
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify(value)


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {"X-Atlassian-Webhook-Identifier": "1768478398000-21"})
    assert verifier().delivery_id(delivery) == "1768478398000-21"
    assert verifier().event_type(delivery) == "jira:issue_created"
    signed = verifier().sign(BODY, delivery_id="d-1", event_type="ignored")
    assert signed["X-Atlassian-Webhook-Identifier"] == "d-1"


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from(["X-Hub-Signature", "X-Other"]),
        st.one_of(
            st.text(max_size=80), st.text("0123456789abcdef", min_size=64, max_size=64).map("sha256=".__add__)
        ),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(VerificationError):
        verifier().verify(Delivery(body, headers))


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), secret=st.text(min_size=1, max_size=40))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, secret: str) -> None:
    signed = verifier([secret]).sign(body)
    assert_accepts(verifier([secret]), Delivery(body, signed))
    with pytest.raises(VerificationError):
        verifier([secret + "x"]).verify(Delivery(body, signed))
