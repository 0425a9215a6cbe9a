"""PagerDuty v3: X-PagerDuty-Signature v1=<hex>[,v1=<hex>...], HMAC-SHA256 of the body."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch
from tests.signatures.assertions import assert_accepts

SECRET = "pd-webhook-secret"
# The shape of the example payload in PagerDuty's v3 webhook overview.
BODY = json.dumps(
    {
        "event": {
            "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
            "event_type": "incident.priority_updated",
            "resource_type": "incident",
            "occurred_at": "2020-10-02T18:45:22.169Z",
            "data": {"id": "PGR0VU2", "type": "incident", "title": "A little bump in the road ☃"},
        }
    },
    ensure_ascii=False,
).encode()


def pagerduty_signature(raw: bytes = BODY, secret: str = SECRET) -> str:
    """As PagerDuty's docs compute it: v1= and the hex HMAC-SHA256 of the raw body."""
    return "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("pagerduty", secrets or [SECRET])


def verify(header: str, raw: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(raw, {"X-PagerDuty-Signature": header}))


def test_accepts_pagerduty_signature() -> None:
    assert_accepts(verify, pagerduty_signature())


def test_any_listed_signature_may_match() -> None:
    # PagerDuty lists one signature per active secret while it rotates them.
    assert_accepts(verify, f"{pagerduty_signature(secret='rotating-out')},{pagerduty_signature()}")
    assert_accepts(verify, f"{pagerduty_signature()}, v2=abc, v1=zz")


def test_tampered_body_and_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(pagerduty_signature(), BODY.replace(b"incident", b"incidenT", 1))
    with pytest.raises(SignatureMismatch):
        verify(pagerduty_signature(secret="other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, pagerduty_signature(secret="old"), secrets=["new", "old"])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-PagerDuty-Signature"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize("value", ["", "v1=", "v2=" + "0" * 64, "sha256=" + "0" * 64, "0" * 64])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader, match="X-PagerDuty-Signature"):
        verify(value)


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "5ac64822-4adc-4fda-ade0-410becf0de4f"
    assert verifier().event_type(delivery) == "incident.priority_updated"


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY)
    assert headers == {"X-PagerDuty-Signature": pagerduty_signature()}
    assert_accepts(verifier(), Delivery(BODY, headers))
