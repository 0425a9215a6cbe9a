"""Vercel: x-vercel-signature, hex HMAC-SHA1 of the raw body.

No SDK verifies Vercel webhooks; the vectors follow https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks
(``crypto.createHmac('sha1', secret).update(rawBody).digest('hex')``).
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

HEADER = "x-vercel-signature"
SECRET = "vercel-webhook-secret"
BODY = json.dumps(
    {
        "id": "uHYvcGNvzvWdnmgWhDPbCrvw",
        "type": "deployment.succeeded",
        "createdAt": 1700000000000,
        "payload": {"deployment": {"id": "dpl_2euZBFqxYdDMDG1jTrHFnNZ2eUVa"}, "target": "production"},
    }
).encode()


def vercel_signature(body: bytes = BODY, secret: str = SECRET) -> str:
    """As Vercel's docs compute it: hex HMAC-SHA1 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("vercel", secrets or [SECRET])


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, {HEADER: vercel_signature()})
    assert_accepts(verify, {"X-Vercel-Signature": vercel_signature().upper()})


def test_sign_reproduces_it() -> None:
    assert verifier().sign(BODY, delivery_id="ignored", event_type="ignored") == {HEADER: vercel_signature()}


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: vercel_signature()}, body=BODY.replace(b"production", b"preview"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: vercel_signature(secret="integration-client-secret")})


def test_sha256_is_not_vercels_algorithm() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()})


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: vercel_signature()}, secrets=["new-secret", SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verify({})


@pytest.mark.parametrize("value", ["", "sha1=" + vercel_signature(), "not hex"])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({HEADER: value})


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "uHYvcGNvzvWdnmgWhDPbCrvw"
    assert verifier().event_type(delivery) == "deployment.succeeded"


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=60))
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
