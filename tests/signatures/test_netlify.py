"""Netlify: the JWS of https://docs.netlify.com/site-deploys/deploy-notifications/#payload-signature
(HS256, ``iss: netlify``, ``sha256`` of the body), checked against PyJWT in both directions, and refused
when forged, tampered, unsigned (``alg: none``), or issued by someone else."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import (
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    TimestampOutOfTolerance,
    VerificationError,
)
from tests.signatures.assertions import assert_accepts

SECRET = "netlify-jws-secret-token-0b8f5e1c9d2a7f44"
NOW = 1_768_478_400
BODY = json.dumps(
    {
        "id": "5ebc34bf4fea0b01f02efa3a",
        "site_id": "fa4dd95a-994e-4f89-8a7a-2d9e9fc36a32",
        "build_id": "5ebc34bf4fea0b01f02efa38",
        "state": "ready",
        "name": "hookgate-docs",
        "branch": "main",
        "context": "production",
    }
).encode()


def netlify_token(body: bytes = BODY, secret: str = SECRET, **claims: object) -> str:
    """What Netlify sends, made with PyJWT."""
    payload = {"iss": "netlify", "sha256": hashlib.sha256(body).hexdigest(), **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("netlify", secrets or [SECRET], clock=lambda: float(NOW), **config)


def verify(token: str, body: bytes = BODY, secrets: list[str] | None = None, **config: object) -> None:
    verifier(secrets, **config).verify(Delivery(body, {"X-Webhook-Signature": token}))


def test_accepts_what_pyjwt_signs() -> None:
    assert_accepts(verify, netlify_token())


def test_pyjwt_accepts_what_we_sign() -> None:
    token = verifier().sign(BODY)["X-Webhook-Signature"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="netlify")
    assert claims == {"iss": "netlify", "sha256": hashlib.sha256(BODY).hexdigest()}
    assert_accepts(verify, token)


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch, match="sha256"):
        verify(netlify_token(), body=BODY.replace(b"ready", b"error"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch, match="secret"):
        verify(netlify_token(secret="another-secret-token-that-is-long-enough"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, netlify_token(), secrets=["the-new-secret-token-0123456789abcdef", SECRET])


def test_another_issuer_is_refused() -> None:
    token = jwt.encode({"iss": "evil", "sha256": hashlib.sha256(BODY).hexdigest()}, SECRET, algorithm="HS256")
    with pytest.raises(SignatureMismatch, match="netlify"):
        verify(token)


def test_unsigned_and_other_algorithms_are_refused() -> None:
    claims = {"iss": "netlify", "sha256": hashlib.sha256(BODY).hexdigest()}
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(MalformedHeader):
        verify(unsigned)
    hs512 = jwt.encode(claims, SECRET + SECRET, algorithm="HS512")
    with pytest.raises(MalformedHeader, match="HS256"):
        verify(hs512)


def test_exp_and_nbf_are_honoured_when_present() -> None:
    assert_accepts(verify, netlify_token(exp=NOW + 60, nbf=NOW - 60))
    with pytest.raises(TimestampOutOfTolerance):
        verify(netlify_token(exp=NOW - 1))
    with pytest.raises(TimestampOutOfTolerance):
        verify(netlify_token(nbf=NOW + 60))
    assert_accepts(verify, netlify_token(exp=NOW - 30), tolerance=60)


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-Webhook-Signature"):
        verifier().verify(Delivery(BODY, {}))


def _segment(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!.??.**",
        f"{_segment([1])}.{_segment({})}.c2ln",
        f"{_segment({'alg': 'HS256'})}.{_segment([1])}.c2ln",
        f"{_segment({'alg': 'HS256'})}.bm90IGpzb24.c2ln",
        f"{_segment({'alg': 'HS256'})}.{_segment({})}.a",
    ],
)
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify(value)


def test_event_type_is_the_deploy_state_and_there_is_no_delivery_id() -> None:
    assert verifier().event_type(Delivery(BODY, {})) == "ready"
    assert verifier().delivery_id(Delivery(BODY, {})) is None


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    header=st.one_of(
        st.text(max_size=80),
        st.lists(st.text("ABCDEFabcdef0123456789-_", max_size=30), min_size=3, max_size=3).map(".".join),
        st.dictionaries(
            st.sampled_from(["iss", "sha256", "exp", "nbf"]), st.one_of(st.text(), st.integers())
        ).map(lambda claims: f"{_segment({'alg': 'HS256'})}.{_segment(claims)}.c2lnbmF0dXJl"),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str) -> None:
    with pytest.raises(VerificationError):
        verifier().verify(Delivery(body, {"X-Webhook-Signature": header}))


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), secret=st.text(min_size=1, max_size=40))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, secret: str) -> None:
    signed = verifier([secret]).sign(body)
    assert_accepts(verifier([secret]), Delivery(body, signed))
    with pytest.raises(VerificationError):
        verifier([secret + "x"]).verify(Delivery(body, signed))
