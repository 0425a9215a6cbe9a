"""Trello: X-Trello-Webhook, base64 HMAC-SHA1 over the raw body followed by the callback URL.

No SDK verifies Trello's webhooks; the vectors follow https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/
(``base64Digest(request.body + callbackURL)`` with HMAC-SHA1 under the application's OAuth secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

HEADER = "X-Trello-Webhook"
SECRET = "3d9f8a7c6b5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c"
# The guide suggests parameters of one's own in the callback URL.
URL = "https://hooks.example.com/webhooks/trello?memberID=14&mainModel=true"
BODY = json.dumps(
    {
        "model": {"id": "4d5ea62fd76aa1136000000c", "name": "Trello Development"},
        "action": {
            "id": "51f9424bcd6e040f3c002412",
            "type": "updateCard",
            "date": "2013-07-31T17:03:39.921Z",
            "data": {"card": {"name": "Naïve card ✓", "id": "51a79e72dbb7e23c7c003778"}},
        },
    },
    ensure_ascii=False,
).encode()


def trello_signature(body: bytes = BODY, url: str = URL, secret: str = SECRET) -> str:
    """As Trello's guide computes it: base64 HMAC-SHA1 of the body and then the callback URL."""
    return base64.b64encode(hmac.new(secret.encode(), body + url.encode(), hashlib.sha1).digest()).decode()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("trello", secrets or [SECRET])


def verify(
    headers: dict[str, str], body: bytes = BODY, url: str = URL, secrets: list[str] | None = None
) -> None:
    verifier(secrets).verify(Delivery(body, headers, url=url))


def test_signs_the_url() -> None:
    assert signatures.get_provider("trello").signs_url


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, {HEADER: trello_signature()})
    assert_accepts(verify, {"x-trello-webhook": trello_signature()})


def test_sign_reproduces_it() -> None:
    assert verifier().sign(BODY, delivery_id="ignored", event_type="ignored", url=URL) == {
        HEADER: trello_signature()
    }


def test_another_callback_url_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch, match="callback URL"):
        verify({HEADER: trello_signature()}, url="https://hooks.example.com/webhooks/trello")


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: trello_signature()}, body=BODY.replace(b"updateCard", b"deleteCard"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: trello_signature(secret="another application")})


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: trello_signature()}, secrets=["new OAuth secret", SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verify({})


def test_malformed_header() -> None:
    with pytest.raises(MalformedHeader, match=HEADER):
        verify({HEADER: " "})


def test_delivery_id_and_event_type_come_from_the_action() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "51f9424bcd6e040f3c002412"
    assert verifier().event_type(delivery) == "updateCard"


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=40), url=st.text(max_size=40))
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str, url: str) -> None:
    delivery = Delivery(body, {HEADER: header}, url=url)
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), url=st.text(max_size=60))
def test_sign_round_trips_only_under_the_same_secret_and_url(body: bytes, url: str) -> None:
    headers = verifier().sign(body, url=url)
    assert_accepts(verifier(), Delivery(body, headers, url=url))
    with pytest.raises(SignatureMismatch):
        verifier(["another secret"]).verify(Delivery(body, headers, url=url))
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(body, headers, url=url + "/"))
