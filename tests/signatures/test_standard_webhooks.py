"""Standard Webhooks: the shared vector every official library tests, tolerance, rotation, refusals."""

from __future__ import annotations

import base64
import time

import pytest

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    TimestampOutOfTolerance,
)
from tests.signatures.assertions import assert_accepts

# The scheme of https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
# and the vector its libraries test against, as published in
# https://docs.svix.com/receiving/verifying-payloads/how
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
HEADERS = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": SIGNATURE}


def verifier(secrets: list[str] | None = None, now: int = TIMESTAMP, **config: object) -> signatures.Verifier:
    return signatures.build("standard-webhooks", secrets or [SECRET], clock=lambda: float(now), **config)


def verify(headers: dict[str, str], body: bytes = BODY, **config: object) -> None:
    verifier(**config).verify(Delivery(body, headers))


def test_shared_vector() -> None:
    assert_accepts(verify, HEADERS)


def test_secret_without_prefix_is_accepted() -> None:
    assert_accepts(verify, HEADERS, secrets=[SECRET.removeprefix("whsec_")])


def test_sign_reproduces_the_shared_vector() -> None:
    assert verifier().sign(BODY, timestamp=TIMESTAMP, delivery_id=MSG_ID) == HEADERS


def test_sign_generates_a_message_id() -> None:
    headers = verifier().sign(BODY)
    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-id"] != verifier().sign(BODY)["webhook-id"]
    assert_accepts(verify, headers)


def test_several_signatures_and_other_versions() -> None:
    assert_accepts(verify, {**HEADERS, "webhook-signature": f"v1a,AAAA v1,Zm9v {SIGNATURE}"})


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(HEADERS, body=b'{"test": 2432232315}')


def test_tampered_id_or_timestamp() -> None:
    with pytest.raises(SignatureMismatch):
        verify({**HEADERS, "webhook-id": "msg_other"})
    with pytest.raises(SignatureMismatch):
        verify({**HEADERS, "webhook-timestamp": str(TIMESTAMP + 1)})


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(HEADERS, secrets=["whsec_" + base64.b64encode(b"another key").decode()])


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, HEADERS, secrets=["whsec_" + base64.b64encode(b"new key").decode(), SECRET])


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing: str) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != missing}
    with pytest.raises(MissingHeader, match=missing):
        verify(headers)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("webhook-timestamp", "yesterday"),
        ("webhook-timestamp", "1614265330.5"),
        ("webhook-signature", ""),
        ("webhook-signature", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        ("webhook-signature", "v2,abc"),
    ],
)
def test_malformed_header(header: str, value: str) -> None:
    with pytest.raises(MalformedHeader, match=header):
        verify({**HEADERS, header: value})


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(HEADERS, now=TIMESTAMP + offset)


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, HEADERS, now=TIMESTAMP + offset)


def test_tolerance_is_configurable() -> None:
    assert_accepts(verify, HEADERS, now=TIMESTAMP + 86_400, tolerance=86_400)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_=", "whsec_abc"])
def test_bad_secret_is_a_configuration_error_without_the_secret(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="secret #1") as info:
        verifier([secret])
    assert secret not in str(info.value)


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(b'{"type": "invoice.paid"}', HEADERS)
    assert verifier().delivery_id(delivery) == MSG_ID
    assert verifier().event_type(delivery) == "invoice.paid"
    assert verifier().event_type(Delivery(b"plain text", HEADERS)) is None


def test_sign_verify_round_trip() -> None:
    body = b'{"type": "user.created", "data": {}}'
    headers = verifier().sign(body, event_type="user.created")
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert_accepts(verifier(), Delivery(body, headers))


def test_the_official_library_signs_what_we_accept_and_accepts_what_we_sign() -> None:
    """Checked against the standardwebhooks reference library, code we did not write."""
    import datetime

    from standardwebhooks.webhooks import Webhook

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"type": "invoice.paid", "amount": 4200}'
    now = int(time.time())
    reference = Webhook(secret)
    signature = reference.sign("msg_ref_1", datetime.datetime.fromtimestamp(now, tz=datetime.UTC), body)
    ours = signatures.build("standard-webhooks", [secret])
    headers = {"webhook-id": "msg_ref_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    assert_accepts(ours, signatures.Delivery(body.encode(), headers))
    signed = ours.sign(body.encode(), timestamp=now, delivery_id="msg_ours_1")
    assert reference.verify(body, signed) == {"type": "invoice.paid", "amount": 4200}
