"""Clerk: the Svix scheme under Clerk's name, checked against the official svix SDK."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import svix.webhooks

import signatures
from signatures import Delivery, MissingHeader, SignatureMismatch, TimestampOutOfTolerance
from tests.signatures.assertions import assert_accepts

# The Standard Webhooks vector every official svix library tests against.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER = "whsec_b3RoZXIga2V5"
BODY = b'{"data": {"id": "user_29w83sxmDNGwOuEthce5gg56FcC"}, "object": "event", "type": "user.created"}'


def verifier(secrets: list[str] | None = None, now: int = TIMESTAMP) -> signatures.Verifier:
    return signatures.build("clerk", secrets or [SECRET], clock=lambda: float(now))


def sdk_headers(body: bytes = BODY, secret: str = SECRET, timestamp: int = TIMESTAMP) -> dict[str, str]:
    signed = svix.webhooks.Webhook(secret).sign(MSG_ID, datetime.fromtimestamp(timestamp, UTC), body.decode())
    return {"svix-id": MSG_ID, "svix-timestamp": str(timestamp), "svix-signature": signed}


def test_is_registered_with_svix_defaults() -> None:
    cls = signatures.get_provider("clerk")
    assert (cls.default_tolerance, cls.default_delivery_id, cls.default_event_type) == (
        300,
        "header:svix-id",
        "json:type",
    )


def test_shared_vector() -> None:
    headers = {"svix-id": MSG_ID, "svix-timestamp": str(TIMESTAMP), "svix-signature": VECTOR_SIGNATURE}
    assert_accepts(verifier(), Delivery(VECTOR_BODY, headers))


def test_accepts_the_sdk_signature() -> None:
    assert_accepts(verifier(), Delivery(BODY, sdk_headers()))


def test_sdk_accepts_what_we_sign() -> None:
    now = int(time.time())  # the SDK checks against the real clock
    headers = verifier(now=now).sign(BODY, delivery_id=MSG_ID)
    assert_accepts(svix.webhooks.Webhook(SECRET), BODY, headers)


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY + b" ", sdk_headers()))
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, sdk_headers(secret=OTHER)))


def test_rotated_secret_matches() -> None:
    assert_accepts(verifier([SECRET, OTHER]), Delivery(BODY, sdk_headers(secret=OTHER)))


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="svix-signature"):
        verifier().verify(Delivery(BODY, {"svix-id": MSG_ID, "svix-timestamp": str(TIMESTAMP)}))


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier(now=TIMESTAMP + offset).verify(Delivery(BODY, sdk_headers()))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verifier(now=TIMESTAMP + offset), Delivery(BODY, sdk_headers()))


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, sdk_headers())
    assert verifier().delivery_id(delivery) == MSG_ID
    assert verifier().event_type(delivery) == "user.created"
