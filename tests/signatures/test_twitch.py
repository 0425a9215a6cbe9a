"""Twitch EventSub: sha256=<hex> HMAC over message id + timestamp + body, ten minutes, challenge handshake.

Twitch has no Python SDK and its docs sign no example: the expected signatures are computed here as
https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message describes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

import signatures
from signatures import (
    Delivery,
    Handshake,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    TimestampOutOfTolerance,
)
from tests.signatures.assertions import assert_accepts

SECRET = "twitch-subscription-secret"
NOW = 1_700_000_000
MESSAGE_ID = "befa7b53-d79d-478f-86b9-120f112b044e"
BODY = json.dumps(
    {
        "subscription": {"id": "f1c2a387", "type": "channel.follow", "version": "2", "status": "enabled"},
        "event": {"user_id": "1337", "broadcaster_user_id": "12826"},
    }
).encode()
CHALLENGE_BODY = json.dumps(
    {
        "challenge": "pogchamp-kappa-360noscope-vohiyo",
        "subscription": {
            "id": "f1c2a387",
            "type": "channel.follow",
            "status": "webhook_callback_verification_pending",
        },
    }
).encode()


def rfc3339(unix: int, fraction: str = ".634234626") -> str:
    """A timestamp as Twitch writes it: RFC 3339, UTC, nanoseconds."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def twitch_headers(
    raw: bytes = BODY, secret: str = SECRET, sent: str | None = None, kind: str = "notification"
) -> dict[str, str]:
    """Sign as Twitch's docs describe: hex HMAC-SHA256 of message id + timestamp + raw body."""
    sent = sent or rfc3339(NOW)
    mac = hmac.new(secret.encode(), MESSAGE_ID.encode() + sent.encode() + raw, hashlib.sha256).hexdigest()
    return {
        "Twitch-Eventsub-Message-Id": MESSAGE_ID,
        "Twitch-Eventsub-Message-Timestamp": sent,
        "Twitch-Eventsub-Message-Signature": f"sha256={mac}",
        "Twitch-Eventsub-Message-Type": kind,
        "Twitch-Eventsub-Subscription-Type": "channel.follow",
    }


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("twitch", secrets or [SECRET], clock=lambda: float(NOW))


def test_accepts_twitch_signature() -> None:
    assert_accepts(verifier(), Delivery(BODY, twitch_headers()))


def test_tampered_body_wrong_secret_and_replayed_id() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY + b" ", twitch_headers()))
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, twitch_headers(secret="other")))
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, {**twitch_headers(), "Twitch-Eventsub-Message-Id": "another"}))


def test_rotated_secret_matches() -> None:
    assert_accepts(verifier(["new", SECRET]), Delivery(BODY, twitch_headers()))


@pytest.mark.parametrize(
    "missing",
    ["Twitch-Eventsub-Message-Id", "Twitch-Eventsub-Message-Timestamp", "Twitch-Eventsub-Message-Signature"],
)
def test_missing_header(missing: str) -> None:
    headers = {k: v for k, v in twitch_headers().items() if k != missing}
    with pytest.raises(MissingHeader, match=missing):
        verifier().verify(Delivery(BODY, headers))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Twitch-Eventsub-Message-Signature", "sha1=abc"),
        ("Twitch-Eventsub-Message-Signature", "sha256=xyz"),
        ("Twitch-Eventsub-Message-Timestamp", "1700000000"),
        ("Twitch-Eventsub-Message-Timestamp", "2023-11-14 22:13:20Z"),
        ("Twitch-Eventsub-Message-Timestamp", "2023-13-14T22:13:20Z"),
    ],
)
def test_malformed_header(name: str, value: str) -> None:
    with pytest.raises(MalformedHeader, match=name):
        verifier().verify(Delivery(BODY, {**twitch_headers(), name: value}))


@pytest.mark.parametrize("offset", [-601, 601])
def test_timestamps_beyond_ten_minutes(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier().verify(Delivery(BODY, twitch_headers(sent=rfc3339(NOW + offset, ""))))


@pytest.mark.parametrize("offset", [-600, 600])
def test_timestamps_just_inside(offset: int) -> None:
    assert_accepts(verifier(), Delivery(BODY, twitch_headers(sent=rfc3339(NOW + offset, ".000000001"))))


def test_challenge_is_answered_as_plain_text() -> None:
    delivery = Delivery(CHALLENGE_BODY, twitch_headers(CHALLENGE_BODY, kind="webhook_callback_verification"))
    assert_accepts(verifier(), delivery)
    assert verifier().handshake(delivery) == Handshake(200, b"pogchamp-kappa-360noscope-vohiyo", "text/plain")


@pytest.mark.parametrize("kind", ["notification", "revocation"])
def test_notifications_and_revocations_are_events(kind: str) -> None:
    delivery = Delivery(BODY, twitch_headers(kind=kind))
    assert_accepts(verifier(), delivery)
    assert verifier().handshake(delivery) is None


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, twitch_headers())
    assert verifier().delivery_id(delivery) == MESSAGE_ID
    assert verifier().event_type(delivery) == "channel.follow"


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, delivery_id=MESSAGE_ID, event_type="channel.follow")
    assert headers["Twitch-Eventsub-Message-Id"] == MESSAGE_ID
    assert headers["Twitch-Eventsub-Subscription-Type"] == "channel.follow"
    assert_accepts(verifier(), Delivery(BODY, headers))
    assert verifier().delivery_id(Delivery(BODY, headers)) == MESSAGE_ID
