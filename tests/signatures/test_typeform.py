"""Typeform: Typeform-Signature sha256=<base64> HMAC-SHA256 of the body.

No SDK of Typeform's verifies webhooks and its docs sign no example: the expected signatures are computed
here as https://www.typeform.com/developers/webhooks/secure-your-webhooks/ describes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch
from tests.signatures.assertions import assert_accepts

SECRET = "typeform-webhook-secret"
BODY = json.dumps(
    {
        "event_id": "01HQ3Z2BYF6K8S9X1JZ4W2E7RM",
        "event_type": "form_response",
        "form_response": {"form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15"},
    }
).encode()


def typeform_signature(raw: bytes = BODY, secret: str = SECRET) -> str:
    """As Typeform documents it: sha256= and the base64 HMAC-SHA256 of the raw body."""
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("typeform", secrets or [SECRET])


def verify(signature: str, raw: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(raw, {"Typeform-Signature": signature}))


def test_accepts_typeform_signature() -> None:
    assert_accepts(verify, typeform_signature())


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(typeform_signature(), BODY.replace(b"lT4Z3j", b"lT4Z3k"))
    with pytest.raises(SignatureMismatch):
        verify(typeform_signature(secret="other"))


def test_hex_digest_is_refused() -> None:
    hex_digest = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureMismatch):
        verify(hex_digest)


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, typeform_signature(secret="old"), secrets=["new", "old"])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="Typeform-Signature"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize("value", ["", "sha256=", "sha1=abc="])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify(value)


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "01HQ3Z2BYF6K8S9X1JZ4W2E7RM"
    assert verifier().event_type(delivery) == "form_response"


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY)
    assert headers == {"Typeform-Signature": typeform_signature()}
    assert_accepts(verifier(), Delivery(BODY, headers))
