"""WooCommerce: X-WC-Webhook-Signature, base64 HMAC-SHA256 of the raw body; the activation ping.

No SDK verifies WooCommerce webhooks; the vectors follow WC_Webhook::generate_signature() —
``base64_encode(hash_hmac('sha256', $payload, $secret, true))`` — and the REST API docs
(https://developer.woocommerce.com/docs/apis/rest-api/v3/webhooks/).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

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

HEADER = "X-WC-Webhook-Signature"
SECRET = "wc-webhook-secret-9f2c"
BODY = json.dumps(
    {"id": 4750, "parent_id": 0, "number": "4750", "status": "completed", "currency": "EUR", "total": "29.00"}
).encode()
DELIVERY_HEADERS = {
    "X-WC-Webhook-Source": "https://shop.example.com/",
    "X-WC-Webhook-Topic": "order.created",
    "X-WC-Webhook-Resource": "order",
    "X-WC-Webhook-Event": "created",
    "X-WC-Webhook-ID": "3",
    "X-WC-Webhook-Delivery-ID": "36e520ebabc2fa725092ff4a47acedf2",
}


def woocommerce_signature(body: bytes = BODY, secret: str = SECRET) -> str:
    """As WC_Webhook::generate_signature() computes it."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("woocommerce", secrets or [SECRET])


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, {**DELIVERY_HEADERS, HEADER: woocommerce_signature()})
    assert_accepts(verify, {HEADER.lower(): woocommerce_signature()})


def test_sign_reproduces_it() -> None:
    headers = verifier().sign(BODY, delivery_id="ignored", event_type="order.created")
    assert headers == {HEADER: woocommerce_signature(), "X-WC-Webhook-Topic": "order.created"}


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: woocommerce_signature()}, body=BODY.replace(b"29.00", b"0.01"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: woocommerce_signature(secret="another store")})


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: woocommerce_signature()}, secrets=["new-secret", SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verify(DELIVERY_HEADERS)


def test_malformed_header() -> None:
    with pytest.raises(MalformedHeader, match=HEADER):
        verify({HEADER: "  "})


def test_activation_ping_is_accepted_and_answered_200() -> None:
    # WC_Webhook::deliver_ping(): body "webhook_id=<id>", no signature, and anything but 200 is an error.
    ping = Delivery(b"webhook_id=3", {"User-Agent": "WooCommerce/8.5.1 Hookshot (WordPress/6.4.2)"})
    assert_accepts(verifier(), ping)
    assert verifier().handshake(ping) == Handshake(200, b"", "text/plain", store=False)


@pytest.mark.parametrize(
    "body", [b"webhook_id=3&status=completed", b"webhook_id=", b"webhook_id=x", b'{"webhook_id": 3}']
)
def test_only_the_exact_ping_goes_unsigned(body: bytes) -> None:
    with pytest.raises(MissingHeader):
        verifier().verify(Delivery(body, {}))
    assert verifier().handshake(Delivery(body, {})) is None


def test_a_signed_ping_shaped_body_is_verified_like_any_delivery() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(b"webhook_id=3", {HEADER: woocommerce_signature()}))
    signed = {HEADER: woocommerce_signature(b"webhook_id=3")}
    assert_accepts(verifier(), Delivery(b"webhook_id=3", signed))
    assert verifier().handshake(Delivery(b"webhook_id=3", signed)) is None


def test_event_type_is_the_topic_and_the_delivery_id_header_is_not_a_dedupe_key() -> None:
    delivery = Delivery(BODY, DELIVERY_HEADERS)
    assert verifier().event_type(delivery) == "order.created"
    # X-WC-Webhook-Delivery-ID hashes the webhook id with the current second: the gateway hashes the body.
    assert verifier().delivery_id(delivery) is None


@settings(max_examples=200, deadline=None)
@given(body=st.one_of(st.binary(max_size=64), st.from_regex(rb"webhook_id=[0-9x&]{0,8}", fullmatch=True)))
def test_random_unsigned_deliveries_are_refused_unless_the_exact_ping(body: bytes) -> None:
    delivery = Delivery(body, {})
    is_ping = body.startswith(b"webhook_id=") and body[11:].isdigit() and 0 < len(body) - 11 <= 20
    if is_ping:
        assert_accepts(verifier(), delivery)
    else:
        with pytest.raises(VerificationError):
            verifier().verify(delivery)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=80))
def test_random_signatures_are_refused_cleanly(body: bytes, header: str) -> None:
    delivery = Delivery(body, {HEADER: header})
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), topic=st.text(min_size=1, max_size=40))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, topic: str) -> None:
    headers = verifier().sign(body, event_type=topic)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier(["another secret"]).verify(Delivery(body, headers))
