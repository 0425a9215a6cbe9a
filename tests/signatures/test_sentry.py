"""Sentry: Sentry-Hook-Signature, hex HMAC-SHA256 of the raw body under the integration's Client Secret.

No SDK verifies Sentry's webhooks; the vectors follow https://docs.sentry.io/integrations/integration-platform/webhooks/
(``hmac.new(client_secret, body, sha256).hexdigest()`` compared with ``Sentry-Hook-Signature``).
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

HEADER = "Sentry-Hook-Signature"
SECRET = "2d7bd9bcf12e46b3a7c4d1e0f5a8c3b2e9d4f1a6c7b8e5d2f3a4c9b0e1d6f7a8"
BODY = json.dumps(
    {
        "action": "created",
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
        "data": {"issue": {"id": "1117540176", "title": "ZeroDivisionError: division by zero"}},
        "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
    }
).encode()
HEADERS = {
    "Request-ID": "a8e5d37a696c4c54adb5b3f28d64c7de",
    "Sentry-Hook-Resource": "issue",
    "Sentry-Hook-Timestamp": "1700000000",
}


def sentry_signature(body: bytes = BODY, secret: str = SECRET) -> str:
    """As Sentry's docs compute it: hex HMAC-SHA256 of the body under the Client Secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("sentry", secrets or [SECRET])


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, {**HEADERS, HEADER: sentry_signature()})


def test_the_unsigned_timestamp_is_not_checked() -> None:
    assert_accepts(verify, {**HEADERS, "Sentry-Hook-Timestamp": "0", HEADER: sentry_signature()})


def test_sign_reproduces_it() -> None:
    headers = verifier().sign(BODY, delivery_id=HEADERS["Request-ID"], event_type="issue")
    assert headers == {
        HEADER: sentry_signature(),
        "Request-ID": HEADERS["Request-ID"],
        "Sentry-Hook-Resource": "issue",
    }


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: sentry_signature()}, body=BODY.replace(b"created", b"resolved"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: sentry_signature(secret="another integration")})


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: sentry_signature()}, secrets=["new-client-secret", SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match=HEADER):
        verify(HEADERS)


@pytest.mark.parametrize("value", ["", "sha256=" + sentry_signature(), "g" * 64])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({HEADER: value})


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, HEADERS)
    assert verifier().delivery_id(delivery) == "a8e5d37a696c4c54adb5b3f28d64c7de"
    assert verifier().event_type(delivery) == "issue"


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=80))
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str) -> None:
    delivery = Delivery(body, {HEADER: header})
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), request_id=st.text(min_size=1, max_size=40))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, request_id: str) -> None:
    headers = verifier().sign(body, delivery_id=request_id)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier(["another secret"]).verify(Delivery(body, headers))
