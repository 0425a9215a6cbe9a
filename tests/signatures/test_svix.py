"""Svix: the Standard Webhooks scheme under svix-* headers, falling back to webhook-*."""

from __future__ import annotations

import pytest

import signatures
from signatures import Delivery, MissingHeader, SignatureMismatch, TimestampOutOfTolerance
from tests.signatures.assertions import assert_accepts

# The example of https://docs.svix.com/receiving/verifying-payloads/how (secret, headers and payload).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
HEADERS = {"svix-id": MSG_ID, "svix-timestamp": str(TIMESTAMP), "svix-signature": SIGNATURE}


def verifier(secrets: list[str] | None = None, now: int = TIMESTAMP) -> signatures.Verifier:
    return signatures.build("svix", secrets or [SECRET], clock=lambda: float(now))


def test_shared_vector_under_svix_headers() -> None:
    assert_accepts(verifier(), Delivery(BODY, HEADERS))


def test_falls_back_to_webhook_headers() -> None:
    headers = {k.replace("svix-", "webhook-"): v for k, v in HEADERS.items()}
    assert_accepts(verifier(), Delivery(BODY, headers))
    assert verifier().delivery_id(Delivery(BODY, headers)) == MSG_ID


def test_sign_uses_svix_headers() -> None:
    assert verifier().sign(BODY, timestamp=TIMESTAMP, delivery_id=MSG_ID) == HEADERS


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY + b" ", HEADERS))
    with pytest.raises(SignatureMismatch):
        verifier(["whsec_b3RoZXIga2V5"]).verify(Delivery(BODY, HEADERS))


def test_rotated_secret_matches() -> None:
    assert_accepts(verifier(["whsec_b3RoZXIga2V5", SECRET]), Delivery(BODY, HEADERS))


def test_missing_header_names_the_svix_header() -> None:
    with pytest.raises(MissingHeader, match="svix-id"):
        verifier().verify(Delivery(BODY, {}))
    with pytest.raises(MissingHeader, match="svix-signature"):
        verifier().verify(Delivery(BODY, {"svix-id": MSG_ID, "svix-timestamp": str(TIMESTAMP)}))


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier(now=TIMESTAMP + offset).verify(Delivery(BODY, HEADERS))


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(b'{"type": "message.attempt.exhausted"}', HEADERS)
    assert verifier().delivery_id(delivery) == MSG_ID
    assert verifier().event_type(delivery) == "message.attempt.exhausted"


def test_signature_headers_cover_both_flavours() -> None:
    assert signatures.get_provider("svix").signature_headers == {"svix-signature", "webhook-signature"}


def test_the_svix_sdk_signs_what_we_accept_and_accepts_what_we_sign() -> None:
    import time
    from datetime import UTC, datetime

    import svix.webhooks

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"type": "user.created"}'
    now = int(time.time())
    sdk = svix.webhooks.Webhook(secret)
    signature = sdk.sign("msg_svix_1", datetime.fromtimestamp(now, UTC), body)
    headers = {"svix-id": "msg_svix_1", "svix-timestamp": str(now), "svix-signature": signature}
    ours = signatures.build("svix", [secret])
    assert_accepts(ours, Delivery(body.encode(), headers))
    # The SDK's verify raises on a mismatch, as ours does.
    assert_accepts(sdk, body, ours.sign(body.encode(), timestamp=now, delivery_id="msg_ours"))
