"""Adyen: each notification item's HMAC-SHA256 (hex key, base64) in additionalData.hmacSignature, and the
HmacSignature header of the other webhook types, checked with Adyen's SDK (Adyen.util) and its vectors."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import textwrap
from typing import Any

import pytest
from Adyen.util import generate_notification_sig, is_valid_hmac_notification, is_valid_hmac_payload
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SigningNotSupported,
    VerificationError,
)
from signatures.providers.adyen import AdyenVerifier
from tests.signatures.assertions import assert_accepts

# adyen-python-api-library test/UtilTest.py: test_notification_request_item_hmac, test_is_valid_hmac_payload.
SDK_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
SDK_ITEM: dict[str, Any] = {
    "pspReference": "7914073381342284",
    "merchantReference": "TestPayment-1407325143704",
    "merchantAccountCode": "TestMerchant",
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "success": "true",
    "eventDate": "2019-05-06T17:15:34.121+02:00",
    "operations": ["CANCEL", "CAPTURE", "REFUND"],
    "paymentMethod": "visa",
}
SDK_ITEM_SIGNATURE = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
SDK_PAYLOAD = (
    "\n"
    + textwrap.indent(
        json.dumps(
            {
                "type": "merchant.created",
                "environment": "test",
                "createdAt": "01-01-2024",
                "data": {
                    "capabilities": {
                        "sendToTransferInstrument": {"requested": True, "requestedLevel": "notApplicable"}
                    },
                    "companyId": "YOUR_COMPANY_ID",
                    "merchantId": "YOUR_MERCHANT_ACCOUNT",
                    "status": "PreActive",
                },
            },
            indent=4,
        ),
        " " * 8,
    )
    + "\n        "
).encode()
SDK_PAYLOAD_SIGNATURE = "fX74xUdztFmaXAn3IusMFFUBUSkLmDQUK0tm8xL6ZTU="
# test/mocks/util/{colon,backslash}_notification.json: real test-platform notifications, signed by Adyen.
MOCK_KEY = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"
MOCK_ITEMS = [
    {
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "AUTHORISATION",
        "merchantAccountCode": "AntoniStroinski",
        "merchantReference": ":slashes are fun",
        "pspReference": "M8NB66SBZSGLNK82",
        "success": "true",
        "additionalData": {"hmacSignature": "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA="},
    },
    {
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "AUTHORISATION",
        "merchantAccountCode": "AntoniStroinski",
        "merchantReference": "\\\\slashes are fun",
        "pspReference": "T7FD4VM4D3RZNN82",
        "success": "true",
        "additionalData": {"hmacSignature": "nIgT81gaB5oJpn2jPXupDq68iRo2wUlBsuYjtYfwKqo="},
    },
]


def notification(*items: dict[str, Any]) -> dict[str, Any]:
    return {"live": "false", "notificationItems": [{"NotificationRequestItem": item} for item in items]}


def signed_item(item: dict[str, Any] = SDK_ITEM, signature: str = SDK_ITEM_SIGNATURE) -> dict[str, Any]:
    return {**copy.deepcopy(item), "additionalData": {"hmacSignature": signature, "authCode": "076181"}}


def body(*items: dict[str, Any]) -> bytes:
    return json.dumps(notification(*(items or (signed_item(),)))).encode()


def verifier(secrets: list[str] | None = None, **config: object) -> AdyenVerifier:
    built = signatures.build("adyen", secrets or [SDK_KEY], **config)
    assert isinstance(built, AdyenVerifier)
    return built


def verify(raw: bytes, headers: dict[str, str] | None = None, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(raw, headers or {}))


def test_sdk_item_vector() -> None:
    assert generate_notification_sig(SDK_ITEM, SDK_KEY).decode() == SDK_ITEM_SIGNATURE
    assert_accepts(verify, body())


@pytest.mark.parametrize("item", MOCK_ITEMS, ids=["colon", "backslash"])
def test_sdk_notifications_with_colons_and_backslashes(item: dict[str, Any]) -> None:
    # The signing string joins fields with ":" and escapes nothing (the retired HPP scheme escaped).
    assert is_valid_hmac_notification(notification(item), MOCK_KEY)
    assert_accepts(verify, json.dumps(notification(item)).encode(), secrets=[MOCK_KEY])


def test_the_sdk_accepts_what_we_sign() -> None:
    item = {**SDK_ITEM, "originalReference": "8313842560770001", "eventCode": "REFUND", "success": "false"}
    raw = verifier().sign_body(item)
    assert is_valid_hmac_notification(json.loads(raw), SDK_KEY)
    assert_accepts(verify, raw)
    assert not is_valid_hmac_notification(json.loads(raw), MOCK_KEY)


def test_sign_body_reproduces_the_sdk_vector() -> None:
    raw = verifier().sign_body(SDK_ITEM)
    item = json.loads(raw)["notificationItems"][0]["NotificationRequestItem"]
    assert item["additionalData"] == {"hmacSignature": SDK_ITEM_SIGNATURE}
    assert json.loads(raw)["live"] == "false"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pspReference", "7914073381342285"),
        ("merchantAccountCode", "OtherMerchant"),
        ("merchantReference", "TestPayment-1"),
        ("eventCode", "CANCELLATION"),
        ("success", "false"),
        ("amount", {"currency": "EUR", "value": 1}),
        ("amount", {"currency": "USD", "value": 1130}),
        ("originalReference", "7914073381342284"),
    ],
)
def test_a_tampered_signed_field(field: str, value: Any) -> None:
    with pytest.raises(SignatureMismatch, match="item #1"):
        verify(body({**signed_item(), field: value}))


def test_fields_outside_the_signing_string_are_not_covered() -> None:
    # What Adyen documents: only the eight fields are signed; the dedupe key drops a replayed copy.
    altered = {**signed_item(), "reason": "altered", "eventDate": "2030-01-01T00:00:00+00:00"}
    assert_accepts(verify, body(altered))


def test_every_item_of_a_batch_must_be_signed() -> None:
    forged = {**SDK_ITEM, "pspReference": "9999999999999999", "additionalData": {"hmacSignature": "AAAA"}}
    assert is_valid_hmac_notification(notification(signed_item(), forged), SDK_KEY)  # the SDK reads item 1
    with pytest.raises(SignatureMismatch, match="item #2"):
        verify(body(signed_item(), forged))
    assert_accepts(verify, body(signed_item(), signed_item()))


def test_wrong_key() -> None:
    with pytest.raises(SignatureMismatch):
        verify(body(), secrets=[MOCK_KEY])


def test_rotated_key_matches() -> None:
    assert_accepts(verify, body(), secrets=[MOCK_KEY, SDK_KEY])


@pytest.mark.parametrize(
    "item",
    [SDK_ITEM, {**SDK_ITEM, "additionalData": {}}, {**SDK_ITEM, "additionalData": {"hmacSignature": ""}}],
)
def test_missing_item_signature(item: dict[str, Any]) -> None:
    with pytest.raises(MissingHeader, match="hmacSignature"):
        verify(body(item))


@pytest.mark.parametrize(
    "document",
    [
        {"notificationItems": []},
        {"notificationItems": {"NotificationRequestItem": SDK_ITEM}},
        {"notificationItems": [SDK_ITEM]},
        {"notificationItems": ["item"]},
        notification({**signed_item(), "amount": 1130}),
        notification({**signed_item(), "pspReference": {"id": "7914073381342284"}}),
        notification({**signed_item(), "amount": {"currency": "EUR", "value": 11.3}}),
    ],
)
def test_malformed_notification(document: dict[str, Any]) -> None:
    with pytest.raises(MalformedHeader):
        verify(json.dumps(document).encode())


def test_other_webhook_types_sign_the_body_in_a_header() -> None:
    assert is_valid_hmac_payload(SDK_PAYLOAD_SIGNATURE, SDK_KEY, SDK_PAYLOAD)
    assert_accepts(verify, SDK_PAYLOAD, {"HmacSignature": SDK_PAYLOAD_SIGNATURE})
    assert verifier().sign(SDK_PAYLOAD) == {"HmacSignature": SDK_PAYLOAD_SIGNATURE}
    with pytest.raises(SignatureMismatch, match="HmacSignature"):
        verify(SDK_PAYLOAD.replace(b"PreActive", b"Active"), {"HmacSignature": SDK_PAYLOAD_SIGNATURE})
    with pytest.raises(MissingHeader, match="HmacSignature"):
        verify(SDK_PAYLOAD)
    with pytest.raises(MalformedHeader, match="HmacSignature"):
        verify(SDK_PAYLOAD, {"HmacSignature": " "})


def test_a_header_signature_does_not_stand_in_for_the_items() -> None:
    raw = body(SDK_ITEM)  # an item without its hmacSignature
    header = base64.b64encode(hmac.new(bytes.fromhex(SDK_KEY), raw, hashlib.sha256).digest()).decode()
    with pytest.raises(MissingHeader, match="hmacSignature"):
        verify(raw, {"HmacSignature": header})


def test_notification_bodies_are_signed_with_sign_body_not_headers() -> None:
    with pytest.raises(SigningNotSupported, match="sign_body"):
        verifier().sign(body())


@pytest.mark.parametrize("key", ["not hex", "abc", "  "])
def test_a_key_that_is_not_hex_is_a_configuration_error_that_does_not_echo_it(key: str) -> None:
    with pytest.raises(ConfigurationError, match="adyen") as caught:
        verifier([key])
    assert "not hex" not in str(caught.value)


def test_delivery_id_is_event_code_psp_reference_and_success() -> None:
    delivery = Delivery(body(), {})
    assert verifier().delivery_id(delivery) == "AUTHORISATION:7914073381342284:true"
    assert verifier().event_type(delivery) == "AUTHORISATION"
    failed = Delivery(body({**signed_item(), "success": "false"}), {})
    assert verifier().delivery_id(failed) == "AUTHORISATION:7914073381342284:false"
    assert verifier(delivery_id="json:notificationItems.0.NotificationRequestItem.pspReference").delivery_id(
        delivery
    ) == ("7914073381342284")


def test_other_webhook_types_have_a_type_and_no_delivery_id() -> None:
    delivery = Delivery(SDK_PAYLOAD, {})
    assert verifier().event_type(delivery) == "merchant.created"
    assert verifier().delivery_id(delivery) is None


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
item_fields = st.dictionaries(
    st.sampled_from(
        [
            "pspReference",
            "eventCode",
            "success",
            "amount",
            "merchantReference",
            "additionalData",
            "originalReference",
        ]
    ),
    st.one_of(
        json_scalars,
        st.dictionaries(st.sampled_from(["value", "currency", "hmacSignature"]), json_scalars, max_size=3),
        st.lists(json_scalars, max_size=2),
    ),
)
documents = st.one_of(
    st.binary(max_size=64),
    st.lists(
        st.one_of(item_fields.map(lambda item: {"NotificationRequestItem": item}), json_scalars), max_size=3
    ).map(lambda items: json.dumps({"notificationItems": items}).encode()),
)


@settings(max_examples=300, deadline=None)
@given(raw=documents, header=st.one_of(st.none(), st.text(max_size=50)))
def test_random_deliveries_are_refused_cleanly(raw: bytes, header: str | None) -> None:
    delivery = Delivery(raw, {} if header is None else {"HmacSignature": header})
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(
    psp=st.text(min_size=1, max_size=20),
    code=st.text(min_size=1, max_size=20),
    value=st.integers(0, 10**9),
    success=st.sampled_from(["true", "false"]),
    reference=st.text(max_size=30),
)
def test_sign_body_round_trips_only_under_the_same_key(
    psp: str, code: str, value: int, success: str, reference: str
) -> None:
    item = {"pspReference": psp, "eventCode": code, "success": success, "merchantReference": reference}
    raw = verifier().sign_body({**item, "amount": {"value": value, "currency": "EUR"}})
    assert_accepts(verifier(), Delivery(raw, {}))
    assert verifier().delivery_id(Delivery(raw, {})) == f"{code}:{psp}:{success}"
    with pytest.raises(SignatureMismatch):
        verifier([MOCK_KEY]).verify(Delivery(raw, {}))


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=256))
def test_sign_round_trips_for_header_signed_bodies(raw: bytes) -> None:
    try:
        headers = verifier().sign(raw)
    except SigningNotSupported:
        return  # a notification body: sign_body's
    assert_accepts(verifier(), Delivery(raw, headers))
    with pytest.raises(SignatureMismatch):
        verifier([MOCK_KEY]).verify(Delivery(raw, headers))
