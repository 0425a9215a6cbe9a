"""Zoom: an independent HMAC of the documented message, tolerance, rotation and the URL validation handshake.

Zoom publishes no Python SDK and no fixed vector; the expected values below follow
https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events: ``v0=`` + hex
HMAC-SHA256(secret token, ``v0:{x-zm-request-timestamp}:{body}``), and for
``endpoint.url_validation`` an ``encryptedToken`` of hex HMAC-SHA256(secret token, plainToken).
"""

from __future__ import annotations

import hashlib
import hmac
import json

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

SECRET = "zoom-secret-token"
NOW = 1_700_000_000
BODY = json.dumps(
    {
        "event": "meeting.started",
        "event_ts": 1_699_999_999_000,
        "payload": {"account_id": "AAAAAABBBB", "object": {"id": "1234567890", "topic": "Standup"}},
    }
).encode()
VALIDATION = json.dumps(
    {
        "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
        "event_ts": 1654503849680,
        "event": "endpoint.url_validation",
    }
).encode()


def reference(secret: str, timestamp: int, body: bytes) -> str:
    message = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def headers_for(body: bytes = BODY, secret: str = SECRET, timestamp: int = NOW) -> dict[str, str]:
    return {"x-zm-request-timestamp": str(timestamp), "x-zm-signature": reference(secret, timestamp, body)}


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("zoom", secrets or [SECRET], clock=lambda: float(NOW), **config)


def verify(headers: dict[str, str], body: bytes = BODY, **config: object) -> None:
    verifier(**config).verify(Delivery(body, headers))


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, headers_for())


def test_sign_matches_the_documented_signature() -> None:
    assert verifier().sign(BODY, timestamp=NOW) == headers_for()


def test_header_names_are_case_insensitive_and_hex_may_be_upper_case() -> None:
    signature = headers_for()["x-zm-signature"]
    assert_accepts(
        verify, {"X-Zm-Request-Timestamp": str(NOW), "X-Zm-Signature": "v0=" + signature[3:].upper()}
    )


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(headers_for(), body=BODY.replace(b"Standup", b"Standdown"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(headers_for(secret="other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, headers_for(secret="old"), secrets=["new", "old"])


@pytest.mark.parametrize("missing", ["x-zm-signature", "x-zm-request-timestamp"])
def test_missing_header(missing: str) -> None:
    headers = headers_for()
    del headers[missing]
    with pytest.raises(MissingHeader, match=missing):
        verify(headers)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-zm-signature", ""),
        ("x-zm-signature", "v0="),
        ("x-zm-signature", "v1=" + "0" * 64),
        ("x-zm-signature", "0" * 64),
        ("x-zm-request-timestamp", "now"),
        ("x-zm-request-timestamp", "1.5"),
    ],
)
def test_malformed_header(header: str, value: str) -> None:
    with pytest.raises(MalformedHeader, match=header):
        verify({**headers_for(), header: value})


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(headers_for(timestamp=NOW + offset))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, headers_for(timestamp=NOW + offset))


def test_forged_stale_delivery_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        verify(headers_for(secret="other", timestamp=NOW - 10_000))


def test_event_type_and_no_delivery_id() -> None:
    delivery = Delivery(BODY, headers_for())
    assert verifier().event_type(delivery) == "meeting.started"
    assert verifier().delivery_id(delivery) is None
    assert (
        verifier(delivery_id="header:x-zm-trackingid").delivery_id(
            Delivery(BODY, {"x-zm-trackingid": "v=2.0;clid=aw1;rid=WEB_1"})
        )
        == "v=2.0;clid=aw1;rid=WEB_1"
    )


def test_url_validation_handshake() -> None:
    delivery = Delivery(VALIDATION, headers_for(VALIDATION))
    assert_accepts(verifier(), delivery)
    answer = verifier().handshake(delivery)
    assert answer is not None
    assert (answer.status, answer.content_type) == (200, "application/json")
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert json.loads(answer.body) == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}


def test_handshake_answers_with_the_secret_that_signed_it() -> None:
    delivery = Delivery(VALIDATION, headers_for(VALIDATION, secret="old"))
    rotating = verifier(["new", "old"])
    assert_accepts(rotating, delivery)
    answer = rotating.handshake(delivery)
    assert answer is not None
    expected = hmac.new(b"old", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert json.loads(answer.body)["encryptedToken"] == expected


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        b"",
        b"not json",
        b'["endpoint.url_validation"]',
        b'{"event": "endpoint.url_validation"}',
        b'{"event": "endpoint.url_validation", "payload": []}',
        b'{"event": "endpoint.url_validation", "payload": {"plainToken": 7}}',
    ],
)
def test_no_handshake_for_other_deliveries(body: bytes) -> None:
    assert verifier().handshake(Delivery(body, headers_for(body))) is None


def test_handshake_never_raises_without_headers() -> None:
    answer = verifier().handshake(Delivery(VALIDATION, {}))
    assert answer is not None


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, delivery_id="ignored", event_type="ignored")
    assert set(headers) == {"x-zm-request-timestamp", "x-zm-signature"}
    assert_accepts(verifier(), Delivery(BODY, headers))


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from(["x-zm-signature", "x-zm-request-timestamp", "x-other"]),
        st.one_of(st.text(max_size=80), st.just(str(NOW)), st.text("v0=0123456789abcdef", max_size=70)),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, headers: dict[str, str]) -> None:
    delivery = Delivery(body, headers)
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    verifier().handshake(delivery)
