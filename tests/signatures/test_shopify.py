"""Shopify: an independent HMAC of the raw body, rotation, refusals and the delivery headers.

Shopify's Python library (ShopifyAPI) has no webhook verifier and the docs publish no fixed
vector; the reference below follows https://shopify.dev/docs/apps/build/webhooks/verify-deliveries:
base64 HMAC-SHA256 of the raw body under the app's client secret, in ``X-Shopify-Hmac-SHA256``.
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
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

SECRET = "shpss_0123456789abcdef0123456789abcdef"
BODY = json.dumps({"id": 820982911946154508, "email": "jon@example.com", "total_price": "10.00"}).encode()
DELIVERY_HEADERS = {
    "X-Shopify-Topic": "orders/create",
    "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
    "X-Shopify-Shop-Domain": "example.myshopify.com",
}


def reference(body: bytes = BODY, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("shopify", secrets or [SECRET])


def verify(signature: str, body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, {**DELIVERY_HEADERS, "X-Shopify-Hmac-SHA256": signature}))


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, reference())


def test_sign_matches_the_reference() -> None:
    assert verifier().sign(BODY) == {"X-Shopify-Hmac-Sha256": reference()}


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(reference(), body=BODY.replace(b"10.00", b"0.01"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(reference(secret="shpss_other"))


def test_rotated_secret_matches() -> None:
    # Shopify may keep signing with the old client secret for up to an hour after a rotation.
    assert_accepts(verify, reference(secret="shpss_old"), secrets=["shpss_new", "shpss_old"])


def test_hex_digest_is_refused() -> None:
    with pytest.raises(SignatureMismatch):
        verify(hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest())


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-Shopify-Hmac-Sha256"):
        verifier().verify(Delivery(BODY, DELIVERY_HEADERS))


@pytest.mark.parametrize("value", ["", "   "])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader, match="X-Shopify-Hmac-Sha256"):
        verify(value)


def test_delivery_id_and_event_type_come_from_the_headers() -> None:
    delivery = Delivery(BODY, DELIVERY_HEADERS)
    assert verifier().delivery_id(delivery) == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert verifier().event_type(delivery) == "orders/create"
    assert verifier().delivery_id(Delivery(BODY, {})) is None
    per_event = signatures.build("shopify", [SECRET], delivery_id="header:X-Shopify-Event-Id")
    assert per_event.delivery_id(delivery) == "98880550-7158-44d4-b7cd-2c97c8a091b5"


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, delivery_id="wh-1", event_type="orders/paid")
    assert headers == {
        "X-Shopify-Webhook-Id": "wh-1",
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Hmac-Sha256": reference(),
    }
    delivery = Delivery(BODY, headers)
    assert_accepts(verifier(), delivery)
    assert (verifier().delivery_id(delivery), verifier().event_type(delivery)) == ("wh-1", "orders/paid")


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=60))
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str) -> None:
    with pytest.raises(VerificationError):
        verifier().verify(Delivery(body, {"X-Shopify-Hmac-Sha256": header}))
