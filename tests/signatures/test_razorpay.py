"""Razorpay: X-Razorpay-Signature, hex HMAC-SHA256 of the raw body, checked with Razorpay's SDK."""

from __future__ import annotations

import json

import pytest
import razorpay
from hypothesis import given, settings
from hypothesis import strategies as st
from razorpay.errors import SignatureVerificationError

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

HEADER = "X-Razorpay-Signature"
# razorpay-python tests/mocks/fake_payment_authorized_webhook.json, byte for byte (971 bytes).
SDK_BODY = (
    json.dumps(
        {
            "event": "payment.authorized",
            "entity": "event",
            "contains": ["payment"],
            "payload": {
                "payment": {
                    "entity": {
                        "id": "pay_6koWN7bvxujzxM",
                        "entity": "payment",
                        "amount": 1000000,
                        "currency": "INR",
                        "status": "captured",
                        "order_id": "order_100000000order",
                        "international": False,
                        "method": "card",
                        "amount_refunded": 0,
                        "refund_status": None,
                        "captured": True,
                        "description": "random description",
                        "card_id": "card_6koWNAT6LASUqy",
                        "bank": None,
                        "wallet": None,
                        "vpa": None,
                        "email": "a@b.com",
                        "contact": "+919999999999",
                        "notes": {"merchant_order_id": "random order id"},
                        "fee": 23000,
                        "service_tax": 3000,
                        "error_code": None,
                        "error_description": None,
                        "created_at": 1479978483,
                    }
                }
            },
            "created_at": 1400826760,
        },
        indent=2,
    )
    + "\n"
).encode()
# The digests razorpay-python's test_verify_webhook_signature and razorpay-ruby's
# test_webhook_signature_verification expect for that body.
SDK_VECTORS = [
    ("key_secret", "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"),
    ("chosen_webhook_secret", "dda9ca344c56ccbd90167b1be0fd99dfa92fe2b827020f27e2a46024e31c7c99"),
]
SECRET, SIGNATURE = SDK_VECTORS[0]


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("razorpay", secrets or [SECRET])


def verify(headers: dict[str, str], body: bytes = SDK_BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


@pytest.mark.parametrize(("secret", "signature"), SDK_VECTORS)
def test_sdk_vectors(secret: str, signature: str) -> None:
    assert len(SDK_BODY) == 971
    assert_accepts(verify, {HEADER: signature}, secrets=[secret])
    assert_accepts(verify, {HEADER.lower(): signature.upper()}, secrets=[secret])


def test_the_sdk_accepts_what_we_sign() -> None:
    headers = verifier(["whsec_ours"]).sign(SDK_BODY)
    utility = razorpay.Utility()
    assert utility.verify_webhook_signature(SDK_BODY.decode(), headers[HEADER], "whsec_ours")
    with pytest.raises(SignatureVerificationError):
        utility.verify_webhook_signature(SDK_BODY.decode(), headers[HEADER], "another secret")


def test_sign_reproduces_the_sdk_vector() -> None:
    headers = verifier().sign(SDK_BODY, delivery_id="evt_1", event_type="ignored")
    assert headers == {HEADER: SIGNATURE, "X-Razorpay-Event-Id": "evt_1"}


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: SIGNATURE}, body=SDK_BODY.replace(b"1000000", b"9000000"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: SIGNATURE}, secrets=["not_the_webhook_secret"])


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: SIGNATURE}, secrets=["new_secret", SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verify({"X-Razorpay-Event-Id": "evt_1"})


@pytest.mark.parametrize("value", ["", "  ", "sha256=" + SIGNATURE, SIGNATURE[:-1] + "z"])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({HEADER: value})


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(SDK_BODY, {"X-Razorpay-Event-Id": "Gm0vmRF3aYb8oC"})
    assert verifier().delivery_id(delivery) == "Gm0vmRF3aYb8oC"
    assert verifier().event_type(delivery) == "payment.authorized"


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=80))
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str) -> None:
    delivery = Delivery(body, {HEADER: header})
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), delivery_id=st.text(min_size=1, max_size=40))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, delivery_id: str) -> None:
    headers = verifier().sign(body, delivery_id=delivery_id)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier(["another secret"]).verify(Delivery(body, headers))
