"""Meta (Facebook, Instagram, WhatsApp): X-Hub-Signature-256: sha256=<hex> of the raw body under the App
Secret, and the hub.challenge verification GET.

No SDK of Meta's verifies webhooks; the vectors follow https://developers.facebook.com/docs/graph-api/webhooks/getting-started
(verification requests: ``hub.mode=subscribe``, ``hub.challenge``, ``hub.verify_token``, answered with the
challenge; event notifications: ``sha256=`` + hex HMAC-SHA256 of the payload under the App Secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    Handshake,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    VerificationError,
)
from tests.signatures.assertions import assert_accepts

HEADER = "X-Hub-Signature-256"
APP_SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
VERIFY_TOKEN = "meatyhamhock"
CALLBACK = "https://hooks.example.com/webhooks/meta"
# A WhatsApp notification; Meta escapes non-ASCII in what it signs and sends alike.
BODY = json.dumps(
    {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messages": [{"id": "wamid.HBgL", "text": {"body": "Olá"}}]},
                    }
                ],
            }
        ],
    }
).encode()


def meta_signature(body: bytes = BODY, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("meta", secrets or [APP_SECRET], **{"verify_token": VERIFY_TOKEN, **config})


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def check(**params: str) -> Delivery:
    """The verification GET as Meta sends it to the callback URL."""
    return Delivery(b"", {}, url=f"{CALLBACK}?{urlencode(params)}", method="GET")


def test_answers_get_and_is_handed_the_url() -> None:
    provider = signatures.get_provider("meta")
    assert provider.answers_get
    assert provider.signs_url


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, {HEADER: meta_signature()})
    assert_accepts(verify, {HEADER.lower(): meta_signature().upper().replace("SHA256=", "sha256=")})


def test_the_legacy_sha1_header_alone_is_not_enough() -> None:
    sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    with pytest.raises(MissingHeader, match=HEADER):
        verify({"X-Hub-Signature": sha1})


def test_sign_reproduces_it() -> None:
    headers = verifier().sign(BODY, delivery_id="ignored", event_type="ignored", url=CALLBACK)
    assert headers == {HEADER: meta_signature()}


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: meta_signature()}, body=BODY.replace(b"messages", b"statuses", 1))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: meta_signature(secret="another app's secret")})


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: meta_signature()}, secrets=["new app secret", APP_SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verify({})


@pytest.mark.parametrize("value", ["", meta_signature()[7:], "sha256=", "sha256=xyz", "sha1=" + "0" * 40])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({HEADER: value})


def test_verification_get_is_answered_with_the_challenge() -> None:
    delivery = check(
        **{"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    )
    assert_accepts(verifier(), delivery)
    assert verifier().handshake(delivery) == Handshake(200, b"1158201444", "text/plain", store=False)


def test_verification_get_with_another_token_is_refused() -> None:
    delivery = check(**{"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "guess"})
    with pytest.raises(SignatureMismatch, match=r"hub\.verify_token"):
        verifier().verify(delivery)


def test_verification_get_is_refused_when_no_token_is_configured() -> None:
    bare = signatures.build("meta", [APP_SECRET])
    delivery = check(**{"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": VERIFY_TOKEN})
    with pytest.raises(SignatureMismatch, match="verify_token"):
        bare.verify(delivery)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, MissingHeader),
        ({"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, MalformedHeader),
        (
            {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
            MalformedHeader,
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": ""}, MalformedHeader),
    ],
)
def test_incomplete_verification_gets_are_refused(
    params: dict[str, str], error: type[VerificationError]
) -> None:
    with pytest.raises(error):
        verifier().verify(check(**params))


def test_a_post_is_never_a_handshake() -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": VERIFY_TOKEN}
    post = Delivery(BODY, {HEADER: meta_signature()}, url=f"{CALLBACK}?{urlencode(params)}")
    assert_accepts(verifier(), post)
    assert verifier().handshake(post) is None
    with pytest.raises(MissingHeader, match=HEADER):
        verifier().verify(Delivery(b"", {}, url=post.url))


@pytest.mark.parametrize("token", ["", 42])
def test_verify_token_must_be_a_non_empty_string(token: object) -> None:
    with pytest.raises(ConfigurationError, match="verify_token"):
        verifier(verify_token=token)


def test_event_type_is_the_object_and_notifications_have_no_id() -> None:
    assert verifier().event_type(Delivery(BODY, {})) == "whatsapp_business_account"
    assert verifier().delivery_id(Delivery(BODY, {})) is None


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    header=st.text(max_size=80),
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.challenge", "hub.verify_token", "x"]),
        st.one_of(st.text(max_size=20), st.sampled_from(["subscribe", VERIFY_TOKEN[:-1]])),
    ),
    method=st.sampled_from(["POST", "GET"]),
)
def test_random_deliveries_are_refused_cleanly(
    body: bytes, header: str, query: dict[str, str], method: str
) -> None:
    delivery = Delivery(body, {HEADER: header}, url=f"{CALLBACK}?{urlencode(query)}", method=method)
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)
    verifier().handshake(delivery)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), challenge=st.text(min_size=1, max_size=40))
def test_sign_and_challenge_round_trip_only_with_the_same_secrets(body: bytes, challenge: str) -> None:
    headers = verifier().sign(body)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier(["another secret"]).verify(Delivery(body, headers))
    get = check(**{"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": VERIFY_TOKEN})
    assert_accepts(verifier(), get)
    answer = verifier().handshake(get)
    assert answer is not None
    assert answer.body == challenge.encode("utf-8", "surrogatepass")
    with pytest.raises(SignatureMismatch):
        verifier(verify_token="another token").verify(get)
