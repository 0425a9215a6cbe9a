"""Asana: the X-Hook-Secret handshake echoed (and never kept), then X-Hook-Signature over events.

Vectors: the handshake secret of https://developers.asana.com/reference/createwebhook, used as the key
for an events body signed as https://developers.asana.com/docs/webhooks-guide says (hex HMAC-SHA256)."""

from __future__ import annotations

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

HOOK_SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
BODY = (
    b'{"events":[{"user":{"gid":"1123","resource_type":"user"},"created_at":"2026-01-15T11:59:58.101Z",'
    b'"action":"changed","parent":null,"resource":{"gid":"1337","resource_type":"task",'
    b'"resource_subtype":"default_task"}}]}'
)
SIGNATURE = "f96ef3f7071eb5bd57a550324f5c3ec66720052e78c995478fff2dcc5a7c31e9"
PLACEHOLDER = "placeholder-until-the-webhook-exists-3f9c2a"


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("asana", secrets or [HOOK_SECRET])


def verify(signature: str, body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, {"X-Hook-Signature": signature}))


def test_handshake_echoes_the_secret_before_any_is_configured() -> None:
    handshake = Delivery(b"", {"X-Hook-Secret": HOOK_SECRET})
    asana = verifier([PLACEHOLDER])
    assert_accepts(asana, handshake)
    answer = asana.handshake(handshake)
    assert answer == Handshake(200, b"", "text/plain", headers={"X-Hook-Secret": HOOK_SECRET}, store=False)
    assert HOOK_SECRET not in repr(answer)


def test_the_secret_header_is_a_credential() -> None:
    assert verifier().credential_headers == {"x-hook-secret"}


@pytest.mark.parametrize("body", [b"{}", b'{"events": []}', b"  \n"])
def test_handshakes_carry_no_events(body: bytes) -> None:
    assert_accepts(verifier(), Delivery(body, {"X-Hook-Secret": HOOK_SECRET}))


@pytest.mark.parametrize("body", [BODY, b'{"events": [], "data": 1}', b"[]", b"hello"])
def test_an_unsigned_handshake_cannot_carry_an_event_in(body: bytes) -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(body, {"X-Hook-Secret": HOOK_SECRET}))


@pytest.mark.parametrize("secret", ["", "two words", "x" * 600, "a\u00e9"])
def test_malformed_handshake_secret(secret: str) -> None:
    with pytest.raises(MalformedHeader, match="X-Hook-Secret"):
        verifier().verify(Delivery(b"", {"X-Hook-Secret": secret}))


def test_a_vector_computed_from_the_documented_algorithm() -> None:
    assert_accepts(verify, SIGNATURE)
    assert_accepts(verify, SIGNATURE.upper())
    assert verifier().sign(BODY) == {"X-Hook-Signature": SIGNATURE}


def test_events_are_not_handshakes() -> None:
    event = Delivery(BODY, {"X-Hook-Signature": SIGNATURE, "X-Hook-Secret": HOOK_SECRET})
    assert_accepts(verifier(), event)
    assert verifier().handshake(event) is None
    assert verifier().handshake(Delivery(BODY, {"X-Hook-Signature": SIGNATURE})) is None


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SIGNATURE, body=BODY.replace(b"changed", b"deleted"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SIGNATURE, secrets=[PLACEHOLDER])


def test_several_webhooks_any_secret_matches() -> None:
    assert_accepts(verify, SIGNATURE, secrets=["secret-of-another-webhook", HOOK_SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-Hook-Signature"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize("value", ["", "sha256=" + SIGNATURE, SIGNATURE[:-2], SIGNATURE + "00", "z" * 64])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify(value)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64).filter(lambda b: b.strip() not in (b"", b"{}")),
    headers=st.dictionaries(
        st.sampled_from(["X-Hook-Signature", "X-Hook-Secret", "X-Other"]),
        st.one_of(st.text(max_size=70), st.text("0123456789abcdef", min_size=64, max_size=64)),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, headers: dict[str, str]) -> None:
    delivery = Delivery(body, headers)
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    verifier().handshake(delivery)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), secret=st.text(min_size=1, max_size=40))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, secret: str) -> None:
    signed = verifier([secret]).sign(body)
    assert_accepts(verifier([secret]), Delivery(body, signed))
    with pytest.raises(VerificationError):
        verifier([secret + "x"]).verify(Delivery(body, signed))
