"""Linear: hex HMAC-SHA256 of the body in Linear-Signature, webhookTimestamp (ms) within 60 s.

Linear's SDK is JavaScript only and neither it nor its docs fix a signature: the expected signatures are
computed here as https://linear.app/developers/webhooks describes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, TimestampOutOfTolerance
from tests.signatures.assertions import assert_accepts

SECRET = "lin_wh_0123456789abcdef"
NOW = 1_700_000_000


def body(sent_ms: int | None = NOW * 1000) -> bytes:
    payload: dict[str, object] = {"action": "create", "type": "Issue", "data": {"id": "issue-1"}}
    if sent_ms is not None:
        payload["webhookTimestamp"] = sent_ms
    return json.dumps(payload).encode()


def linear_signature(raw: bytes, secret: str = SECRET) -> str:
    """As Linear's SDK computes it: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("linear", secrets or [SECRET], clock=lambda: float(NOW), **config)


def verify(raw: bytes, signature: str | None = None, **config: object) -> None:
    headers = {"Linear-Signature": signature if signature is not None else linear_signature(raw)}
    verifier(**config).verify(Delivery(raw, headers))


def test_accepts_linear_signature() -> None:
    assert_accepts(verify, body())


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(body().replace(b"create", b"remove"), linear_signature(body()))
    with pytest.raises(SignatureMismatch):
        verify(body(), linear_signature(body(), "other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, body(), linear_signature(body(), "old"), secrets=["new", "old"])


def test_missing_and_malformed_header() -> None:
    with pytest.raises(MissingHeader, match="Linear-Signature"):
        verifier().verify(Delivery(body(), {}))
    with pytest.raises(MalformedHeader):
        verify(body(), "not-hex")


@pytest.mark.parametrize("offset_ms", [-61_000, 61_000])
def test_webhook_timestamp_beyond_a_minute(offset_ms: int) -> None:
    raw = body(NOW * 1000 + offset_ms)
    with pytest.raises(TimestampOutOfTolerance):
        verify(raw)


@pytest.mark.parametrize("offset_ms", [-60_000, 60_000])
def test_webhook_timestamp_just_inside(offset_ms: int) -> None:
    assert_accepts(verify, body(NOW * 1000 + offset_ms))


def test_body_timestamp_wins_over_the_unsigned_header() -> None:
    raw = body(NOW * 1000 - 3_600_000)
    headers = {"Linear-Signature": linear_signature(raw), "Linear-Timestamp": str(NOW * 1000)}
    with pytest.raises(TimestampOutOfTolerance):
        verifier().verify(Delivery(raw, headers))


def test_header_timestamp_is_used_when_the_body_has_none() -> None:
    raw = body(None)
    headers = {"Linear-Signature": linear_signature(raw)}
    with pytest.raises(MissingHeader, match="webhookTimestamp"):
        verifier().verify(Delivery(raw, headers))
    assert_accepts(verifier(), Delivery(raw, {**headers, "Linear-Timestamp": str(NOW * 1000)}))


def test_malformed_body_timestamp() -> None:
    raw = json.dumps({"type": "Issue", "webhookTimestamp": "soon"}).encode()
    with pytest.raises(MalformedHeader, match="webhookTimestamp"):
        verify(raw)


def test_delivery_id_and_event_type_come_from_headers() -> None:
    delivery = Delivery(
        body(), {"Linear-Delivery": "234d1a4e-b617-4388-90fe-adc3633d6b72", "Linear-Event": "Issue"}
    )
    assert verifier().delivery_id(delivery) == "234d1a4e-b617-4388-90fe-adc3633d6b72"
    assert verifier().event_type(delivery) == "Issue"


def test_sign_verify_round_trip() -> None:
    raw = body(None)
    headers = verifier().sign(raw, timestamp=NOW - 30, delivery_id="d-1", event_type="Issue")
    assert headers == {
        "Linear-Delivery": "d-1",
        "Linear-Event": "Issue",
        "Linear-Signature": linear_signature(raw),
        "Linear-Timestamp": str((NOW - 30) * 1000),
    }
    assert_accepts(verifier(), Delivery(raw, headers))
