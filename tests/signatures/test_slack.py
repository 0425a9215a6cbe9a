"""Slack: the docs' vector, the official SDK, tolerance, rotation, event types and the handshake."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

import signatures
from signatures import (
    Delivery,
    Handshake,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    TimestampOutOfTolerance,
    VerificationError,
)
from tests.signatures.assertions import assert_accepts

# https://docs.slack.dev/authentication/verifying-requests-from-slack/ (also slack_sdk's
# tests/slack_sdk/signature/test_signature_verifier.py)
DOCS_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOCS_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOCS_TIMESTAMP = 1531420618
DOCS_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

SECRET = "slack-signing-secret"
NOW = 1_700_000_000
EVENT = {
    "type": "event_callback",
    "event_id": "Ev08MFMKH6",
    "team_id": "T0001",
    "event": {"type": "app_mention", "text": "<@U0LAN0Z89> hi", "channel": "C0LAN2Q65"},
}
BODY = json.dumps(EVENT).encode()


def verifier(secrets: list[str] | None = None, now: int = NOW, **config: object) -> signatures.Verifier:
    return signatures.build("slack", secrets or [SECRET], clock=lambda: float(now), **config)


def sdk_headers(body: bytes = BODY, secret: str = SECRET, timestamp: int = NOW) -> dict[str, str]:
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def verify(headers: dict[str, str], body: bytes = BODY, **config: object) -> None:
    verifier(**config).verify(Delivery(body, headers))


def test_docs_vector() -> None:
    headers = {"X-Slack-Request-Timestamp": str(DOCS_TIMESTAMP), "X-Slack-Signature": DOCS_SIGNATURE}
    assert_accepts(verifier([DOCS_SECRET], now=DOCS_TIMESTAMP), Delivery(DOCS_BODY, headers))
    assert verifier([DOCS_SECRET]).sign(DOCS_BODY, timestamp=DOCS_TIMESTAMP) == headers


def test_accepts_the_sdk_signature() -> None:
    assert_accepts(verify, sdk_headers())


def test_sdk_accepts_what_we_sign() -> None:
    class Clock:
        def now(self) -> float:
            return float(NOW)

    headers = verifier().sign(BODY)
    assert SignatureVerifier(SECRET, clock=Clock()).is_valid_request(BODY, headers)


def test_upper_case_hex_is_accepted() -> None:
    headers = sdk_headers()
    headers["X-Slack-Signature"] = "v0=" + headers["X-Slack-Signature"][3:].upper()
    assert_accepts(verify, headers)


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(sdk_headers(), body=BODY + b" ")


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(sdk_headers(secret="other-secret"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, sdk_headers(secret="old-secret"), secrets=["new-secret", "old-secret"])


@pytest.mark.parametrize("missing", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
def test_missing_header(missing: str) -> None:
    headers = sdk_headers()
    del headers[missing]
    with pytest.raises(MissingHeader, match=missing):
        verify(headers)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Slack-Signature", ""),
        ("X-Slack-Signature", "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
        ("X-Slack-Signature", "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
        ("X-Slack-Signature", "v0=nothex"),
        ("X-Slack-Request-Timestamp", "yesterday"),
        ("X-Slack-Request-Timestamp", "-5"),
    ],
)
def test_malformed_header(header: str, value: str) -> None:
    headers = {**sdk_headers(), header: value}
    with pytest.raises(MalformedHeader, match=header):
        verify(headers)


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(sdk_headers(timestamp=NOW + offset))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, sdk_headers(timestamp=NOW + offset))


def test_tolerance_is_configurable() -> None:
    assert_accepts(verify, sdk_headers(timestamp=NOW - 3000), tolerance=3600)
    with pytest.raises(TimestampOutOfTolerance):
        verify(sdk_headers(timestamp=NOW - 61), tolerance=60)


def test_forged_stale_delivery_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        verify(sdk_headers(secret="other-secret", timestamp=NOW - 10_000))


def test_delivery_id_is_the_events_api_event_id() -> None:
    assert verifier().delivery_id(Delivery(BODY, {})) == "Ev08MFMKH6"
    assert verifier().delivery_id(Delivery(DOCS_BODY, {})) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BODY, "app_mention"),
        (json.dumps({"type": "url_verification", "challenge": "x"}).encode(), "url_verification"),
        (json.dumps({"type": "app_rate_limited"}).encode(), "app_rate_limited"),
        (json.dumps({"type": "event_callback", "event": "odd"}).encode(), "event_callback"),
        (b"payload=" + json.dumps({"type": "block_actions"}).encode().replace(b" ", b"+"), "block_actions"),
        (b"payload=%7Bnot+json", None),
        (DOCS_BODY, None),
        (b"[1, 2]", None),
        (b"\xff\xfe", None),
    ],
)
def test_event_type(body: bytes, expected: str | None) -> None:
    assert verifier().event_type(Delivery(body, {})) == expected


def test_configured_event_type_wins() -> None:
    assert verifier(event_type="json:team_id").event_type(Delivery(BODY, {})) == "T0001"


def test_url_verification_handshake() -> None:
    body = json.dumps(
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    delivery = Delivery(body, verifier().sign(body))
    assert_accepts(verifier(), delivery)
    answer = verifier().handshake(delivery)
    assert answer == Handshake(
        200, b'{"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}', "application/json"
    )
    assert json.loads(answer.body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        DOCS_BODY,
        b"",
        b"[]",
        b'{"type": "url_verification"}',
        b'{"type": "url_verification", "challenge": 5}',
    ],
)
def test_no_handshake_for_other_deliveries(body: bytes) -> None:
    assert verifier().handshake(Delivery(body, {})) is None


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, delivery_id="ignored", event_type="ignored")
    assert set(headers) == {"X-Slack-Request-Timestamp", "X-Slack-Signature"}
    assert_accepts(verifier(), Delivery(BODY, headers))


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from(["X-Slack-Signature", "X-Slack-Request-Timestamp", "X-Other"]),
        st.one_of(st.text(max_size=80), st.just(str(NOW)), st.text("v0=0123456789abcdef", max_size=70)),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, headers: dict[str, str]) -> None:
    delivery = Delivery(body, headers)
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    verifier().event_type(delivery)
    verifier().handshake(delivery)
