"""Mux: Mux-Signature t=<unix>,v1=<hex>, HMAC-SHA256 over "{t}." + body, five minutes of tolerance.

The scheme of https://www.mux.com/docs/core/verify-webhook-signatures; Mux's Python SDK (mux-python) verifies
no webhooks, so the known answer is the vector of Mux's own Node SDK,
https://github.com/muxinc/mux-node-sdk/blob/HEAD/tests/api-resources/webhooks.test.ts
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, TimestampOutOfTolerance
from tests.signatures.assertions import assert_accepts

SECRET = "mux-signing-secret"
NOW = 1_700_000_000
BODY = json.dumps(
    {"type": "video.asset.ready", "id": "3a56ac3d-33da-4366-855b-f592d898409d", "data": {"id": "asset-1"}}
).encode()


# mux-node-sdk's webhooks test: its secret, payload, timestamp and the signature its verifySignature accepts.
SDK_SECRET = "SuperSecret123"
SDK_TIMESTAMP = 1565125718
SDK_BODY = b'{"test":"body"}'
SDK_SIGNATURE = "854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7"


def mux_header(raw: bytes = BODY, secret: str = SECRET, timestamp: int = NOW) -> str:
    """As Mux's docs describe it: hex HMAC-SHA256 of "<t>.<body>" under the signing secret."""
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("mux", secrets or [SECRET], clock=lambda: float(NOW), **config)


def verify(header: str, raw: bytes = BODY, **config: object) -> None:
    verifier(**config).verify(Delivery(raw, {"Mux-Signature": header}))


def test_the_node_sdks_vector() -> None:
    def sdk_verify(header: str, now: int = SDK_TIMESTAMP) -> None:
        mux = signatures.build("mux", [SDK_SECRET], clock=lambda: float(now))
        mux.verify(Delivery(SDK_BODY, {"Mux-Signature": header}))

    assert_accepts(sdk_verify, f"t={SDK_TIMESTAMP},v1={SDK_SIGNATURE}")
    # As the SDK's test: one of several v1 signatures may match, other versions are ignored ...
    assert_accepts(sdk_verify, f"t={SDK_TIMESTAMP},v1=invalid-sig,v1={SDK_SIGNATURE}")
    assert_accepts(sdk_verify, f"t={SDK_TIMESTAMP},v2={SDK_SIGNATURE},v1={SDK_SIGNATURE}")
    # ... and six minutes later the same delivery is too old.
    with pytest.raises(TimestampOutOfTolerance):
        sdk_verify(f"t={SDK_TIMESTAMP},v1={SDK_SIGNATURE}", now=SDK_TIMESTAMP + 360)
    sdk_signer = signatures.build("mux", [SDK_SECRET])
    assert sdk_signer.sign(SDK_BODY, timestamp=SDK_TIMESTAMP) == {
        "Mux-Signature": f"t={SDK_TIMESTAMP},v1={SDK_SIGNATURE}"
    }


def test_accepts_mux_signature() -> None:
    assert_accepts(verify, mux_header())


def test_any_v1_may_match() -> None:
    assert_accepts(verify, f"t={NOW},v1={'0' * 64},{mux_header().split(',')[1]}")


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(mux_header(), BODY + b" ")
    with pytest.raises(SignatureMismatch):
        verify(mux_header(secret="other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, mux_header(secret="old"), secrets=["new", "old"])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="Mux-Signature"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize("value", ["", "garbage", f"v1={'0' * 64}", f"t={NOW}", f"t=abc,v1={'0' * 64}"])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader, match="Mux-Signature"):
        verify(value)


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(mux_header(timestamp=NOW + offset))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, mux_header(timestamp=NOW + offset))


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "3a56ac3d-33da-4366-855b-f592d898409d"
    assert verifier().event_type(delivery) == "video.asset.ready"


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, timestamp=NOW)
    assert headers == {"Mux-Signature": mux_header()}
    assert_accepts(verifier(), Delivery(BODY, verifier().sign(BODY)))
