"""Airtable: X-Airtable-Content-MAC: hmac-sha256=<hex>, HMAC-SHA256 of the raw body under the base64-decoded
macSecretBase64.

No SDK of Airtable's verifies notifications; the vectors follow https://airtable.com/developers/web/api/webhooks-overview
(the notification body, ``Buffer.from(macSecretBase64, 'base64')`` as the key, ``'hmac-sha256=' + hex``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

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

HEADER = "X-Airtable-Content-MAC"
MAC_SECRET = base64.b64encode(bytes(range(32))).decode()
# The notification body exactly as the webhooks overview shows it.
BODY = (
    b'{"base":{"id":"app00000000000000"},"webhook":{"id":"ach00000000000000"},'
    b'"timestamp":"2022-02-01T21:25:05.663Z"}'
)


def airtable_mac(body: bytes = BODY, secret: str = MAC_SECRET) -> str:
    """As Airtable's docs compute it, with the decoded secret as the key."""
    return "hmac-sha256=" + hmac.new(base64.b64decode(secret), body, hashlib.sha256).hexdigest()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("airtable", secrets or [MAC_SECRET])


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def test_accepts_the_documented_mac() -> None:
    assert_accepts(verify, {HEADER: airtable_mac()})


def test_every_notification_is_answered_204_with_no_body() -> None:
    # "respond with an HTTP 200 or 204 status code and an empty response body"
    assert verifier().handshake(Delivery(BODY, {HEADER: airtable_mac()})) == Handshake(204, b"", "text/plain")


def test_the_secret_is_decoded_not_used_as_text() -> None:
    as_text = "hmac-sha256=" + hmac.new(MAC_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureMismatch):
        verify({HEADER: as_text})


def test_sign_reproduces_it() -> None:
    assert verifier().sign(BODY, delivery_id="ignored", event_type="ignored") == {HEADER: airtable_mac()}


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: airtable_mac()}, body=BODY.replace(b"2022-02-01", b"2022-02-02"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: airtable_mac(secret=base64.b64encode(b"another webhook").decode())})


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: airtable_mac()}, secrets=[base64.b64encode(b"new").decode(), MAC_SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verify({})


@pytest.mark.parametrize(
    "value", ["", airtable_mac()[12:], "hmac-sha256=zz", "hmacSHA256=" + airtable_mac()[12:]]
)
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({HEADER: value})


@pytest.mark.parametrize("secret", ["not base64!", "====", "   "])
def test_a_secret_that_is_not_base64_is_a_configuration_error(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="macSecretBase64") as caught:
        verifier([secret])
    assert "not base64!" not in str(caught.value)


def test_notifications_have_no_id_or_type() -> None:
    assert verifier().delivery_id(Delivery(BODY, {})) is None
    assert verifier().event_type(Delivery(BODY, {})) is None


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
        verifier([base64.b64encode(b"another secret").decode()]).verify(Delivery(body, headers))
