"""Square: the SDK's vectors, the SDK verifying what we sign, the URL in the signature, rotation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from square.utils.webhooks_helper import verify_signature

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

# square-python-sdk tests/integration/test_webhooks_helper.py
SDK_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z",'
    b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
SDK_SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
SDK_KEY = "Ibxx_5AKakO-3qeNVR61Dw"
SDK_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
HEADER = "x-square-hmacsha256-signature"


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("square", secrets or [SDK_KEY])


def verify(
    signature: str, body: bytes = SDK_BODY, url: str = SDK_URL, secrets: list[str] | None = None
) -> None:
    verifier(secrets).verify(Delivery(body, {HEADER: signature}, url=url))


def test_signs_the_url() -> None:
    assert signatures.get_provider("square").signs_url


def test_sdk_vector() -> None:
    assert_accepts(verify, SDK_SIGNATURE)


def test_sdk_escaped_body_vector() -> None:
    body = b'{"data":{"type":"webhooks","id":">id<"}}'
    signature = "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="
    assert_accepts(
        verify, signature, body=body, url="https://webhook.site/webhooks", secrets=["signature-key"]
    )


def test_sdk_verifies_what_we_sign() -> None:
    url = "https://hooks.example.com/webhooks/square?tenant=7"
    headers = signatures.build("square", ["sig-key"]).sign(SDK_BODY, url=url)
    assert verify_signature(
        request_body=SDK_BODY.decode(),
        signature_header=headers[HEADER],
        signature_key="sig-key",
        notification_url=url,
    )


def test_sign_reproduces_the_sdk_vector() -> None:
    assert verifier().sign(SDK_BODY, url=SDK_URL) == {HEADER: SDK_SIGNATURE}


def test_another_url_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch, match="URL"):
        verify(SDK_SIGNATURE, url="https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9")


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SDK_SIGNATURE, body=SDK_BODY.replace(b"2022-07-13", b"2022-06-13"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SDK_SIGNATURE, secrets=["MCmhFRxGX82xMwg5FsaoQA"])


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, SDK_SIGNATURE, secrets=["MCmhFRxGX82xMwg5FsaoQA", SDK_KEY])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verifier().verify(Delivery(SDK_BODY, {"x-square-signature": "legacy"}, url=SDK_URL))


def test_malformed_header() -> None:
    with pytest.raises(MalformedHeader, match=HEADER):
        verify(" ")


def test_delivery_id_and_event_type_come_from_the_body() -> None:
    delivery = Delivery(SDK_BODY, {})
    assert verifier().delivery_id(delivery) == "ac3ac95b-f97d-458c-a6e6-18981597e05f"
    assert verifier().event_type(delivery) == "webhooks.test_notification"


def test_sign_verify_round_trip() -> None:
    url = "https://hooks.example.com/webhooks/square"
    headers = verifier().sign(SDK_BODY, delivery_id="ignored", event_type="ignored", url=url)
    assert set(headers) == {HEADER}
    assert_accepts(verifier(), Delivery(SDK_BODY, headers, url=url))


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=60), url=st.text(max_size=40))
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str, url: str) -> None:
    with pytest.raises(VerificationError):
        verifier().verify(Delivery(body, {HEADER: header}, url=url))
