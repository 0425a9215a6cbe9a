"""DocuSign Connect: one X-DocuSign-Signature-N per HMAC key, any matching any secret; refusals.

Vector: a Connect JSON body signed as https://developers.docusign.com/platform/webhooks/connect/validate/
says (HMAC-SHA256 keyed with the key's text as DocuSign shows it, over the whole body, base64)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

KEY = "W3tLT0L6Zc4cEuMGYWqS4rlL+3NRPrhaV8FBkx6DeuQ="
BODY = (
    b'{"event":"envelope-completed","apiVersion":"v2.1","uri":"/restapi/v2.1/accounts/9b9e1f0c/envelopes/'
    b'93be49ab","retryCount":0,"configurationId":10418097,"generatedDateTime":"2026-01-15T11:59:58.0000000Z",'
    b'"data":{"accountId":"9b9e1f0c-2d5e-4a7d-a6a4-08c2c0d6e3e1","envelopeId":"93be49ab-afa0-4adb-933c-f7b1dd2a2f64"}}'
)
SIGNATURE = "wltZuJgWt0pxWR8/A8sjSFLc6pkTG3k6b16HmsGfGs4="
OTHER = "Zm9yZ2VkIGJ5IG9uZSB3aG8gaXMgbm90IERvY3VTaWc="


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("docusign", secrets or [KEY])


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def test_a_vector_computed_from_the_documented_algorithm() -> None:
    assert_accepts(verify, {"X-DocuSign-Signature-1": SIGNATURE, "X-Authorization-Digest": "HMACSHA256"})


def test_any_header_may_carry_the_match() -> None:
    assert_accepts(verify, {"X-DocuSign-Signature-1": OTHER, "X-DocuSign-Signature-2": SIGNATURE})
    assert_accepts(verify, {"x-docusign-signature-17": SIGNATURE})


def test_rotated_keys_any_secret_matches() -> None:
    assert_accepts(verify, {"X-DocuSign-Signature-1": SIGNATURE}, secrets=["newer-key", KEY])


def test_sign_sends_one_header_per_key() -> None:
    headers = verifier(["newer-key", KEY]).sign(BODY)
    assert headers["X-DocuSign-Signature-2"] == SIGNATURE
    assert set(headers) == {"X-Authorization-Digest", "X-DocuSign-Signature-1", "X-DocuSign-Signature-2"}
    assert_accepts(verify, headers)


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({"X-DocuSign-Signature-1": SIGNATURE}, body=BODY.replace(b"completed", b"voided"))


def test_wrong_key() -> None:
    with pytest.raises(SignatureMismatch):
        verify({"X-DocuSign-Signature-1": SIGNATURE}, secrets=["not-the-key"])


@pytest.mark.parametrize(
    "headers", [{}, {"X-DocuSign-Signature": SIGNATURE}, {"X-DocuSign-Signature-0": SIGNATURE}]
)
def test_missing_header(headers: dict[str, str]) -> None:
    with pytest.raises(MissingHeader, match="X-DocuSign-Signature-1"):
        verify(headers)


@pytest.mark.parametrize("value", ["", "hmac", SIGNATURE[:-1], SIGNATURE.replace("=", "")])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({"X-DocuSign-Signature-1": SIGNATURE, "X-DocuSign-Signature-2": value})


def test_event_type() -> None:
    assert verifier().event_type(Delivery(BODY, {})) == "envelope-completed"
    assert verifier().event_type(Delivery(b"<DocuSignEnvelopeInformation/>", {})) is None


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from(
            ["X-DocuSign-Signature-1", "X-DocuSign-Signature-2", "X-DocuSign-Signature-100", "X-Other"]
        ),
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
