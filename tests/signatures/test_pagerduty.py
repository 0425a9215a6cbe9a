"""PagerDuty v3: X-PagerDuty-Signature v1=<hex>[,v1=<hex>...], HMAC-SHA256 of the body.

The scheme of https://github.com/PagerDuty/developer-docs/blob/main/docs/webhooks/04-Signatures.md, whose
example signatures come without their secret; the known answer is the test vector of the client library
those docs point to, https://github.com/PagerDuty/go-pagerduty/blob/master/webhookv3/webhookv3_test.go
"""

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


# go-pagerduty's webhookv3 test: its secret, its body and the signature it accepts (and one it refuses).
LIBRARY_SECRET = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"
LIBRARY_BODY = (
    b'{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated",'
    b'"resource_type":"incident","occurred_at":"2021-04-26T17:36:27.458Z","agent":{"html_url":'
    b'"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV",'
    b'"summary":"Tenex Engineer","type":"user_reference"},"client":null,'
    b'"data":{"id":"PGR0VU2","type":"incident",'
    b'"self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2",'
    b'"number":2,"status":"triggered","title":"A little bump in the road","service":{"html_url":'
    b'"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","self":"https://api.pagerduty.com/services/PF9KMXH",'
    b'"summary":"API Service","type":"service_reference"},"assignees":[{"html_url":'
    b'"https://acme.pagerduty.com/users/PTUXL6G","id":"PTUXL6G","self":"https://api.pagerduty.com/users/PTUXL6G",'
    b'"summary":"User 123","type":"user_reference"}],"escalation_policy":{"html_url":'
    b'"https://acme.pagerduty.com/escalation_policies/PUS0KTE","id":"PUS0KTE",'
    b'"self":"https://api.pagerduty.com/escalation_policies/PUS0KTE","summary":"Default",'
    b'"type":"escalation_policy_reference"},"teams":[{"html_url":"https://acme.pagerduty.com/teams/PFCVPS0",'
    b'"id":"PFCVPS0","self":"https://api.pagerduty.com/teams/PFCVPS0","summary":"Engineering",'
    b'"type":"team_reference"}],"priority":{"html_url":"https://acme.pagerduty.com/account/incident_priorities",'
    b'"id":"PSO75BM","self":"https://api.pagerduty.com/priorities/PSO75BM","summary":"P1",'
    b'"type":"priority_reference"},"urgency":"high","conference_bridge":{"conference_number":1000,'
    b'"conference_url":"https://example.com"},"resolve_reason":null}}}'
)
LIBRARY_SIGNATURE = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"
LIBRARY_MISMATCH = "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5"


def pagerduty_signature(raw: bytes = BODY, secret: str = SECRET) -> str:
    """As PagerDuty's docs compute it: v1= and the hex HMAC-SHA256 of the raw body."""
    return "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verifier(secrets: list[str] | None = None) -> signatures.Verifier:
    return signatures.build("pagerduty", secrets or [SECRET])


def verify(header: str, raw: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(raw, {"X-PagerDuty-Signature": header}))


def test_the_client_librarys_vector() -> None:
    assert_accepts(verify, LIBRARY_SIGNATURE, LIBRARY_BODY, secrets=[LIBRARY_SECRET])
    assert verifier([LIBRARY_SECRET]).sign(LIBRARY_BODY) == {"X-PagerDuty-Signature": LIBRARY_SIGNATURE}
    with pytest.raises(SignatureMismatch):
        verify(LIBRARY_MISMATCH, LIBRARY_BODY, secrets=[LIBRARY_SECRET])


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
