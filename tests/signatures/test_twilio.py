"""Twilio: the SDK's vectors (form, duplicates, ports, JSON body hash), the SDK signing and validating."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    VerificationError,
)
from signatures.providers.twilio import with_body_hash
from tests.signatures.assertions import assert_accepts

# twilio-python tests/unit/test_request_validator.py
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
FORM = urlencode(PARAMS).encode()
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
JSON_BODY = b'{"property": "value", "boolean": true}'
BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
JSON_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("twilio", secrets or [TOKEN], **config)


def form_delivery(signature: str, body: bytes = FORM, url: str = URL) -> Delivery:
    return Delivery(body, {**FORM_TYPE, "X-Twilio-Signature": signature}, url=url)


def test_signs_the_url() -> None:
    assert signatures.get_provider("twilio").signs_url


def test_sdk_form_vector() -> None:
    assert_accepts(verifier(), form_delivery(EXPECTED))


def test_content_type_parameters_are_ignored() -> None:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Twilio-Signature": EXPECTED,
    }
    assert_accepts(verifier(), Delivery(FORM, headers, url=URL))


def test_sdk_duplicate_parameters_vector() -> None:
    body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"
    assert_accepts(verifier(), form_delivery("IK+Dwps556ElfBT0I3Rgjkr1wJU=", body=body))


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", EXPECTED),
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        (URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
)
def test_sdk_port_vectors(url: str, signature: str) -> None:
    assert_accepts(verifier(), form_delivery(signature, url=url))


def test_sdk_json_body_vector() -> None:
    url = URL + "&bodySHA256=" + BODY_HASH
    assert with_body_hash(URL, JSON_BODY) == url
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": JSON_SIGNATURE}
    assert_accepts(verifier(), Delivery(JSON_BODY, headers, url=url))


def test_tampered_json_body_is_caught_by_the_body_hash() -> None:
    url = URL + "&bodySHA256=" + BODY_HASH
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": JSON_SIGNATURE}
    with pytest.raises(SignatureMismatch, match="bodySHA256"):
        verifier().verify(Delivery(JSON_BODY.replace(b"value", b"other"), headers, url=url))


def test_unsigned_json_body_is_refused() -> None:
    signature = RequestValidator(TOKEN).compute_signature(URL, {})
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": signature}
    with pytest.raises(SignatureMismatch, match="bodySHA256"):
        verifier().verify(Delivery(JSON_BODY, headers, url=URL))
    assert_accepts(verifier(), Delivery(b"", headers, url=URL))


def test_form_body_sent_as_another_type_is_refused() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(FORM, {"X-Twilio-Signature": EXPECTED}, url=URL))


def test_sdk_signature_with_sha256() -> None:
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS, "HMAC_SHA256")
    assert_accepts(verifier(algorithm="sha256"), form_delivery(signature))
    with pytest.raises(SignatureMismatch):
        verifier().verify(form_delivery(signature))


def test_sha256_mismatch_names_the_settings_header() -> None:
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS, "HMAC_SHA256")
    delivery = form_delivery(signature)
    settings_header = "key=webhooks_sharedkey_XX,algorithm=HMAC_SHA256"
    delivery = Delivery(
        FORM, {**delivery.headers, "X-Twilio-Webhooks-Signature-Settings": settings_header}, url=URL
    )
    with pytest.raises(SignatureMismatch, match='option "algorithm"'):
        verifier().verify(delivery)


def test_unknown_algorithm_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="algorithm"):
        verifier(algorithm="md5")


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_sdk_validates_what_we_sign(algorithm: str) -> None:
    url = "https://hooks.example.com/webhooks/twilio"
    headers = verifier(algorithm=algorithm).sign(FORM, url=url, form=True)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert RequestValidator(TOKEN).validate(
        url, PARAMS, headers["X-Twilio-Signature"], f"HMAC_{algorithm.upper()}"
    )


def test_sdk_validates_what_we_sign_for_json() -> None:
    url = with_body_hash("https://hooks.example.com/webhooks/twilio", JSON_BODY)
    headers = verifier().sign(JSON_BODY, url="https://hooks.example.com/webhooks/twilio")
    assert headers["Content-Type"] == "application/json"
    assert RequestValidator(TOKEN).validate(url, JSON_BODY.decode(), headers["X-Twilio-Signature"])
    assert verifier().sign(JSON_BODY, url=url) == headers


def test_tampered_form() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(form_delivery(EXPECTED, body=FORM.replace(b"1234", b"9999")))


def test_other_url_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(form_delivery(EXPECTED, url=URL.replace("myapp", "other")))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verifier(["54321"]).verify(form_delivery(EXPECTED))


def test_rotated_secret_matches() -> None:
    assert_accepts(verifier(["new-auth-token", TOKEN]), form_delivery(EXPECTED))


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-Twilio-Signature"):
        verifier().verify(Delivery(FORM, FORM_TYPE, url=URL))


def test_malformed_header() -> None:
    with pytest.raises(MalformedHeader, match="X-Twilio-Signature"):
        verifier().verify(form_delivery(""))


def test_delivery_id_is_the_idempotency_token() -> None:
    delivery = Delivery(FORM, {"I-Twilio-Idempotency-Token": "59cf3b7b-2ad6-4a0c-8a47-d2c5e7b1f2c3"})
    assert verifier().delivery_id(delivery) == "59cf3b7b-2ad6-4a0c-8a47-d2c5e7b1f2c3"
    assert verifier().event_type(delivery) is None


def test_sign_verify_round_trip() -> None:
    url = "https://hooks.example.com/webhooks/twilio?tenant=7"
    headers = verifier().sign(FORM, delivery_id="idem-1", url=url, form=True)
    assert headers["I-Twilio-Idempotency-Token"] == "idem-1"
    assert_accepts(verifier(), Delivery(FORM, headers, url=url))
    json_headers = verifier(algorithm="sha256").sign(JSON_BODY, url=url)
    assert_accepts(
        verifier(algorithm="sha256"), Delivery(JSON_BODY, json_headers, url=with_body_hash(url, JSON_BODY))
    )


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    signature=st.text(max_size=40),
    url=st.one_of(st.text(max_size=40), st.just("https://example.com:99999/x"), st.just("http://[::1/x")),
    form=st.booleans(),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, signature: str, url: str, form: bool) -> None:
    headers = {**(FORM_TYPE if form else {}), "X-Twilio-Signature": signature}
    with pytest.raises(VerificationError):
        verifier().verify(Delivery(body, headers, url=url))
