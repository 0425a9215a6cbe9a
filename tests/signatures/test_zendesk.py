"""Zendesk: base64 HMAC-SHA256 over the signature timestamp followed by the raw body.

No SDK verifies Zendesk webhooks; the vectors follow https://developer.zendesk.com/documentation/webhooks/verifying/
(``base64(HMACSHA256(TIMESTAMP + BODY))``, its test signing secret) and the headers of
https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

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

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
# The secret Zendesk signs test requests with, from the verifying page.
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
STAMP = "2021-03-25T05:09:27Z"
NOW = int(datetime(2021, 3, 25, 5, 9, 27, tzinfo=UTC).timestamp())
BODY = json.dumps(
    {
        "type": "zen:event-type:ticket.created",
        "account_id": 123456,
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "time": "2021-03-25T05:09:27.000Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:35436",
        "detail": {"id": "35436", "subject": "Help, my printer is on fire!"},
        "event": {},
    }
).encode()
HEADERS = {"x-zendesk-account-id": "123456", "x-zendesk-webhook-id": "01F1KRFQ6BG29CNWFR60NK5FNY"}


def zendesk_signature(stamp: str = STAMP, body: bytes = BODY, secret: str = SECRET) -> str:
    """As the verifying page writes it: base64(HMACSHA256(TIMESTAMP + BODY))."""
    return base64.b64encode(
        hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    ).decode()


def signed(stamp: str = STAMP, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {**HEADERS, SIGNATURE: zendesk_signature(stamp, body, secret), TIMESTAMP: stamp}


def verifier(secrets: list[str] | None = None, now: int = NOW, **config: object) -> signatures.Verifier:
    return signatures.build("zendesk", secrets or [SECRET], clock=lambda: float(now), **config)


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, signed())


def test_a_bodiless_request_is_signed_over_the_timestamp_alone() -> None:
    # "Not all requests from webhooks will have a body (GETs, DELETEs)".
    assert_accepts(verify, signed(body=b""), body=b"")


def test_the_retired_body_then_timestamp_order_is_refused() -> None:
    # An older version of the page wrote (BODY)(TIMESTAMP), with a vector made that way.
    old_secret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
    old = {SIGNATURE: "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=", TIMESTAMP: "2021-07-25T10:00:00Z"}
    moment = int(datetime(2021, 7, 25, 10, tzinfo=UTC).timestamp())
    with pytest.raises(SignatureMismatch):
        verifier([old_secret], now=moment).verify(Delivery(b'{"say": "hello"}', old))
    current = {**old, SIGNATURE: zendesk_signature(old[TIMESTAMP], b'{"say": "hello"}', old_secret)}
    assert_accepts(verifier([old_secret], now=moment), Delivery(b'{"say": "hello"}', current))


def test_sign_reproduces_the_documented_signature() -> None:
    headers = verifier().sign(BODY, timestamp=NOW, delivery_id="8350205582")
    assert headers == {
        SIGNATURE: zendesk_signature(),
        TIMESTAMP: STAMP,
        "X-Zendesk-Webhook-Invocation-Id": "8350205582",
    }


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(signed(), body=BODY.replace(b"fire", b"ice"))


def test_signature_does_not_transfer_to_another_timestamp() -> None:
    with pytest.raises(SignatureMismatch):
        verify({**signed(), TIMESTAMP: "2021-03-25T05:09:28Z"})


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(signed(secret="the webhook's real secret"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, signed(secret="old secret"), secrets=["new secret", "old secret"])


@pytest.mark.parametrize("missing", [SIGNATURE, TIMESTAMP])
def test_missing_header(missing: str) -> None:
    with pytest.raises(MissingHeader, match=missing):
        verify({k: v for k, v in signed().items() if k != missing})


@pytest.mark.parametrize(
    "headers",
    [
        {SIGNATURE: " ", TIMESTAMP: STAMP},
        {SIGNATURE: "x", TIMESTAMP: "1616648967"},
        {SIGNATURE: "x", TIMESTAMP: "2021-03-25 05:09:27"},
        {SIGNATURE: "x", TIMESTAMP: "2021-02-30T05:09:27Z"},
    ],
)
def test_malformed_header(headers: dict[str, str]) -> None:
    with pytest.raises(MalformedHeader):
        verify(headers)


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier(now=NOW + offset).verify(Delivery(BODY, signed()))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verifier(now=NOW + offset), Delivery(BODY, signed()))


def test_fractional_and_offset_timestamps_are_read() -> None:
    for stamp in ("2021-03-25T05:09:27.123Z", "2021-03-25T07:09:27+02:00"):
        assert_accepts(verify, signed(stamp=stamp))


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {**signed(), "x-zendesk-webhook-invocation-id": "8350205582"})
    assert verifier().delivery_id(delivery) == "8350205582"
    assert verifier().event_type(delivery) == "zen:event-type:ticket.created"


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    signature=st.text(max_size=60),
    stamp=st.one_of(st.text(max_size=30), st.just(STAMP)),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, signature: str, stamp: str) -> None:
    delivery = Delivery(body, {SIGNATURE: signature, TIMESTAMP: stamp})
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), offset=st.integers(-300, 300), invocation=st.text(min_size=1))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, offset: int, invocation: str) -> None:
    headers = verifier().sign(body, timestamp=NOW + offset, delivery_id=invocation)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier(["another secret"]).verify(Delivery(body, headers))
