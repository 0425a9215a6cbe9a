"""Resend: the Svix scheme under Resend's name, checked against the resend and svix SDKs."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import resend
import svix.webhooks

import signatures
from signatures import Delivery, MissingHeader, SignatureMismatch, TimestampOutOfTolerance
from tests.signatures.assertions import assert_accepts

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_b3RoZXIga2V5"
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
NOW = 1_700_000_000
BODY = b'{"type": "email.delivered", "created_at": "2024-11-22T23:41:12.126Z", "data": {"email_id": "x"}}'


def verifier(secrets: list[str] | None = None, now: int = NOW) -> signatures.Verifier:
    return signatures.build("resend", secrets or [SECRET], clock=lambda: float(now))


def sdk_headers(body: bytes = BODY, secret: str = SECRET, timestamp: int = NOW) -> dict[str, str]:
    signed = svix.webhooks.Webhook(secret).sign(MSG_ID, datetime.fromtimestamp(timestamp, UTC), body.decode())
    return {"svix-id": MSG_ID, "svix-timestamp": str(timestamp), "svix-signature": signed}


def test_accepts_the_svix_signature() -> None:
    assert_accepts(verifier(), Delivery(BODY, sdk_headers()))


def test_resend_sdk_accepts_what_we_sign() -> None:
    now = int(time.time())  # resend.Webhooks.verify checks against the real clock
    headers = verifier(now=now).sign(BODY, delivery_id=MSG_ID)
    event = resend.Webhooks.verify(
        {
            "payload": BODY.decode(),
            "headers": {
                "id": headers["svix-id"],
                "timestamp": headers["svix-timestamp"],
                "signature": headers["svix-signature"],
            },
            "webhook_secret": SECRET,
        }
    )
    assert event["type"] == "email.delivered"


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY.replace(b"delivered", b"bounced"), sdk_headers()))
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, sdk_headers(secret=OTHER)))


def test_rotated_secret_matches() -> None:
    assert_accepts(verifier([SECRET, OTHER]), Delivery(BODY, sdk_headers(secret=OTHER)))


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="svix-id"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier(now=NOW + offset).verify(Delivery(BODY, sdk_headers()))


def test_timestamp_just_inside_tolerance() -> None:
    assert_accepts(verifier(now=NOW + 300), Delivery(BODY, sdk_headers()))


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, sdk_headers())
    assert verifier().delivery_id(delivery) == MSG_ID
    assert verifier().event_type(delivery) == "email.delivered"
