"""Stripe: checked against the official SDK, with tolerance, rotation and refusals."""

from __future__ import annotations

import json

import pytest
import stripe

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, TimestampOutOfTolerance
from tests.signatures.assertions import assert_accepts

SECRET = "whsec_test_secret"
NOW = 1_700_000_000
BODY = json.dumps({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event", "type": "invoice.paid"}).encode()


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("stripe", secrets or [SECRET], clock=lambda: float(NOW), **config)


def sdk_header(body: bytes = BODY, secret: str = SECRET, timestamp: int = NOW) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
    return header


def verify(header: str, body: bytes = BODY, **config: object) -> None:
    verifier(**config).verify(Delivery(body, {"Stripe-Signature": header}))


def test_accepts_the_sdk_signature() -> None:
    assert_accepts(verify, sdk_header())


def test_matches_the_sdk_signature_function() -> None:
    expected = stripe.WebhookSignature._compute_signature(f"{NOW}.{BODY.decode()}", SECRET)
    assert verifier().sign(BODY, timestamp=NOW) == {"Stripe-Signature": f"t={NOW},v1={expected}"}


def test_sdk_accepts_what_we_sign() -> None:
    header = verifier().sign(BODY)["Stripe-Signature"]
    event = stripe.Webhook.construct_event(BODY.decode(), header, SECRET, tolerance=10**10)
    assert event.id == "evt_1NG8Du2eZvKYlo2CUI79vXWy"


def test_any_v1_may_match_and_v0_is_ignored() -> None:
    good = sdk_header().split(",")[1]
    assert_accepts(verify, f"t={NOW},v1={'0' * 64},{good},v0={'1' * 64}")


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(sdk_header(), body=BODY + b" ")


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(sdk_header(secret="whsec_other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, sdk_header(secret="whsec_old"), secrets=["whsec_new", "whsec_old"])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="Stripe-Signature"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"v1={'0' * 64}",
        f"t=abc,v1={'0' * 64}",
        f"t={NOW}",
        f"t={NOW},v0={'0' * 64}",
        "t=-5,v1=00",
    ],
)
def test_malformed_header(header: str) -> None:
    with pytest.raises(MalformedHeader, match="Stripe-Signature"):
        verify(header)


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(sdk_header(timestamp=NOW + offset))


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verify, sdk_header(timestamp=NOW + offset))


def test_tolerance_is_configurable() -> None:
    assert_accepts(verify, sdk_header(timestamp=NOW - 3000), tolerance=3600)
    with pytest.raises(TimestampOutOfTolerance):
        verify(sdk_header(timestamp=NOW - 61), tolerance=60)


def test_forged_stale_delivery_is_a_mismatch_not_a_clock_problem() -> None:
    with pytest.raises(SignatureMismatch):
        verify(sdk_header(secret="whsec_other", timestamp=NOW - 10_000))


def test_delivery_id_and_event_type_come_from_the_body() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "evt_1NG8Du2eZvKYlo2CUI79vXWy"
    assert verifier().event_type(delivery) == "invoice.paid"
    assert verifier().delivery_id(Delivery(b"not json", {})) is None


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, delivery_id="ignored", event_type="ignored")
    assert set(headers) == {"Stripe-Signature"}
    assert_accepts(verifier(), Delivery(BODY, headers))
