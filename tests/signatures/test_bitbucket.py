"""Bitbucket: X-Hub-Signature: sha256=<hex>, HMAC-SHA256 of the raw body (Cloud and Data Center).

No SDK verifies Bitbucket's webhooks; the vectors follow https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/
(HMAC-SHA256 of the raw body under the secret, sent as sha256=<hex>) and the headers of
https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/ and, for Data Center,
https://confluence.atlassian.com/bitbucketserver/event-payload-938025882.html.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch, VerificationError
from tests.signatures.assertions import assert_accepts

HEADER = "X-Hub-Signature"
SECRET = "bitbucket-webhook-secret"
BODY = json.dumps(
    {
        "push": {"changes": [{"new": {"type": "branch", "name": "main"}}]},
        "repository": {"full_name": "hookgate/send-test", "uuid": "{b3b8c5bd-6b2d-4bc6-9a1b-0c7f5f9a1c11}"},
        "actor": {"display_name": "Alice"},
    }
).encode()
CLOUD = {
    "X-Event-Key": "repo:push",
    "X-Hook-UUID": "{0f1e2d3c-4b5a-6978-8776-a5b4c3d2e1f0}",
    "X-Request-UUID": "{7a1d1f55-9c3a-4a8e-9c1c-3e0a4c2b6d7f}",
    "X-Attempt-Number": "1",
}


def bitbucket_signature(body: bytes = BODY, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("bitbucket", secrets or [SECRET], **config)


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(body, headers))


def test_accepts_the_documented_signature() -> None:
    assert_accepts(verify, {**CLOUD, HEADER: bitbucket_signature()})


def test_sign_reproduces_it() -> None:
    headers = verifier().sign(BODY, delivery_id=CLOUD["X-Request-UUID"], event_type="repo:push")
    assert headers == {
        HEADER: bitbucket_signature(),
        "X-Request-UUID": CLOUD["X-Request-UUID"],
        "X-Event-Key": "repo:push",
    }


def test_githubs_sha1_reading_of_the_header_is_refused() -> None:
    sha1 = "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    with pytest.raises(MalformedHeader, match="sha256="):
        verify({HEADER: sha1})


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: bitbucket_signature()}, body=BODY.replace(b"main", b"release"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({HEADER: bitbucket_signature(secret="another repository")})


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {HEADER: bitbucket_signature()}, secrets=["new-secret", SECRET])


def test_missing_header() -> None:
    # A webhook saved without a secret sends no signature: refused, not waved through.
    with pytest.raises(MissingHeader, match=HEADER):
        verify(CLOUD)


@pytest.mark.parametrize("value", ["", "sha256=", "sha256=xyz", bitbucket_signature()[7:]])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({HEADER: value})


def test_delivery_id_from_cloud_or_data_center() -> None:
    cloud = Delivery(BODY, CLOUD)
    data_center = Delivery(BODY, {"X-Event-Key": "repo:refs_changed", "X-Request-Id": "f6b3d1c2-aa11"})
    assert verifier().delivery_id(cloud) == "{7a1d1f55-9c3a-4a8e-9c1c-3e0a4c2b6d7f}"
    assert verifier().event_type(cloud) == "repo:push"
    assert verifier().delivery_id(data_center) == "f6b3d1c2-aa11"
    assert verifier().event_type(data_center) == "repo:refs_changed"
    assert verifier(delivery_id="header:X-Hook-UUID").delivery_id(data_center) is None


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), header=st.text(max_size=80))
def test_random_deliveries_are_refused_cleanly(body: bytes, header: str) -> None:
    delivery = Delivery(body, {HEADER: header})
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    for found in (verifier().delivery_id(delivery), verifier().event_type(delivery)):
        assert found is None or isinstance(found, str)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), request=st.text(min_size=1, max_size=40))
def test_sign_round_trips_only_under_the_same_secret(body: bytes, request: str) -> None:
    headers = verifier().sign(body, delivery_id=request)
    assert_accepts(verifier(), Delivery(body, headers))
    with pytest.raises(SignatureMismatch):
        verifier(["another secret"]).verify(Delivery(body, headers))
