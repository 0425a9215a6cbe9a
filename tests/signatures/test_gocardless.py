"""GoCardless: Webhook-Signature, hex HMAC-SHA256 of the raw body, checked with gocardless_pro's parser."""

from __future__ import annotations

import json

import pytest
from gocardless_pro import webhooks
from gocardless_pro.errors import InvalidSignatureError
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

HEADER = "Webhook-Signature"
# gocardless-pro-python tests/webhooks_test.py: fixtures/webhook_body.json (stripped), its key and signature.
SDK_KEY = "ED7D658C-D8EB-4941-948B-3973214F2D49"
SDK_SIGNATURE = "2693754819d3e32d7e8fcb13c729631f316c6de8dc1cf634d6527f1c07276e7e"
SDK_BODY = (
    b'{"events":[{"id":"EV00BD05S5VM2T","created_at":"2018-07-05T09:13:51.404Z","resource_type":"subscriptions",'
    b'"action":"created","links":{"subscription":"SB0003JJQ2MR06"},"details":{"origin":"api",'
    b'"cause":"subscription_created","description":"Subscription created via the API."},"metadata":{}},'
    b'{"id":"EV00BD05TB8K63","created_at":"2018-07-05T09:13:56.893Z","resource_type":"mandates",'
    b'"action":"created","links":{"mandate":"MD000AMA19XGEC"},"details":{"origin":"api",'
    b'"cause":"mandate_created","description":"Mandate created via the API."},"metadata":{}}]}'
)
WITH_META = json.dumps({**json.loads(SDK_BODY), "meta": {"webhook_id": "WB00001XJ3F4ZD"}}).encode()


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("gocardless", secrets or [SDK_KEY], **config)


def verify(headers: dict[str, str], body: bytes = SDK_BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def test_sdk_vector() -> None:
    assert_accepts(verify, {HEADER: SDK_SIGNATURE})
    assert [event.id for event in webhooks.parse(SDK_BODY, SDK_KEY, SDK_SIGNATURE)] == [
        "EV00BD05S5VM2T",
        "EV00BD05TB8K63",
    ]


def test_the_sdk_accepts_what_we_sign() -> None:
    headers = verifier(["endpoint-secret"]).sign(WITH_META)
    parsed = webhooks.parse_with_meta(WITH_META, "endpoint-secret", headers[HEADER])
    assert parsed.webhook_id == "WB00001XJ3F4ZD"
    with pytest.raises(InvalidSignatureError):
        webhooks.parse(WITH_META, "another secret", headers[HEADER])


def test_sign_reproduces_the_sdk_vector() -> None:
    assert verifier().sign(SDK_BODY) == {HEADER: SDK_SIGNATURE}


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: SDK_SIGNATURE}, body=SDK_BODY.replace(b"mandate_created", b"mandate_cancelled"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: SDK_SIGNATURE}, secrets=["ED7D658C-0000-4941-948B-3973214F2D49"])


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: SDK_SIGNATURE}, secrets=["new-endpoint-secret", SDK_KEY])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verify({"Origin": "https://api.gocardless.com"})


@pytest.mark.parametrize("value", ["", "sha256=" + SDK_SIGNATURE, "not hex"])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({HEADER: value})


def test_delivery_id_is_the_webhook_id_and_batches_have_no_event_type() -> None:
    assert verifier().delivery_id(Delivery(WITH_META, {})) == "WB00001XJ3F4ZD"
    assert verifier().delivery_id(Delivery(SDK_BODY, {})) is None  # older bodies: the gateway hashes them
    assert verifier().event_type(Delivery(WITH_META, {})) is None
    by_resource = verifier(event_type="json:events.0.resource_type")
    assert by_resource.event_type(Delivery(WITH_META, {})) == "subscriptions"


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=80))
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str) -> None:
    delivery = Delivery(body, {HEADER: header})
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256))
def test_sign_round_trips_only_under_the_same_secret(body: bytes) -> None:
    headers = verifier().sign(body)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier(["another secret"]).verify(Delivery(body, headers))
