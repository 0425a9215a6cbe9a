"""GitLab: the secret token, the signing token (Standard Webhooks vector), scheme selection, ids and types."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    TimestampOutOfTolerance,
    VerificationError,
)
from tests.signatures.assertions import assert_accepts

TOKEN = "gitlab-secret-token"
# GitLab's signing token follows the Standard Webhooks spec (gitlab-org/gitlab MR 230944: HMAC-SHA256
# of "{webhook-id}.{webhook-timestamp}.{body}", "v1,<base64>", a whsec_<base64> token), so the
# spec's shared vector applies: github.com/standard-webhooks/standard-webhooks libraries' tests, as
# published in https://docs.svix.com/receiving/verifying-payloads/how
SIGNING = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SIGNED = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": VECTOR_SIGNATURE}

BODY = json.dumps({"object_kind": "push", "ref": "refs/heads/main", "project": {"id": 15}}).encode()
GITLAB_HEADERS = {
    "X-Gitlab-Event": "Push Hook",
    "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e",
    "X-Gitlab-Webhook-UUID": "9d5a2b2e-9c3a-4d84-a0a5-4f7e1d6a3c21",
    "Idempotency-Key": "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
    "X-Gitlab-Instance": "https://gitlab.example.com",
}


def verifier(secrets: list[str] | None = None, now: int = TIMESTAMP, **config: object) -> signatures.Verifier:
    return signatures.build("gitlab", secrets or [TOKEN], clock=lambda: float(now), **config)


def token_delivery(token: str = TOKEN, body: bytes = BODY) -> Delivery:
    return Delivery(body, {**GITLAB_HEADERS, "X-Gitlab-Token": token})


def test_token_is_a_credential_header() -> None:
    gitlab = signatures.get_provider("gitlab")
    assert gitlab.credential_headers == {"x-gitlab-token"}
    assert not gitlab.signs_url


def test_secret_token_matches() -> None:
    assert_accepts(verifier(), token_delivery())


def test_wrong_secret_token() -> None:
    with pytest.raises(SignatureMismatch, match="X-Gitlab-Token"):
        verifier().verify(token_delivery("other"))
    with pytest.raises(SignatureMismatch):
        verifier().verify(token_delivery(TOKEN + " "))


def test_rotated_secret_token_matches() -> None:
    assert_accepts(verifier(["new-token", TOKEN]), token_delivery())


def test_missing_token() -> None:
    with pytest.raises(MissingHeader, match="X-Gitlab-Token"):
        verifier().verify(Delivery(BODY, GITLAB_HEADERS))


def test_signing_token_vector() -> None:
    assert_accepts(verifier([SIGNING]), Delivery(VECTOR_BODY, SIGNED))


def test_signing_token_tampered_body_and_wrong_key() -> None:
    with pytest.raises(SignatureMismatch):
        verifier([SIGNING]).verify(Delivery(VECTOR_BODY + b" ", SIGNED))
    with pytest.raises(SignatureMismatch):
        verifier(["whsec_b3RoZXIga2V5"]).verify(Delivery(VECTOR_BODY, SIGNED))
    with pytest.raises(SignatureMismatch):
        verifier([SIGNING]).verify(Delivery(VECTOR_BODY, {**SIGNED, "webhook-id": "msg_other"}))


def test_rotated_signing_token_matches() -> None:
    assert_accepts(verifier(["whsec_b3RoZXIga2V5", SIGNING]), Delivery(VECTOR_BODY, SIGNED))


@pytest.mark.parametrize("offset", [-301, 301])
def test_signing_timestamps_beyond_tolerance(offset: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verifier([SIGNING], now=TIMESTAMP + offset).verify(Delivery(VECTOR_BODY, SIGNED))


@pytest.mark.parametrize("offset", [-300, 300])
def test_signing_timestamps_just_inside_tolerance(offset: int) -> None:
    assert_accepts(verifier([SIGNING], now=TIMESTAMP + offset), Delivery(VECTOR_BODY, SIGNED))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp"])
def test_signing_missing_header(missing: str) -> None:
    headers = dict(SIGNED)
    del headers[missing]
    with pytest.raises(MissingHeader, match=missing):
        verifier([SIGNING]).verify(Delivery(VECTOR_BODY, headers))


@pytest.mark.parametrize(
    ("header", "value"),
    [("webhook-signature", "v2,abc"), ("webhook-signature", ""), ("webhook-timestamp", "yesterday")],
)
def test_signing_malformed_header(header: str, value: str) -> None:
    with pytest.raises(MalformedHeader, match=header):
        verifier([SIGNING]).verify(Delivery(VECTOR_BODY, {**SIGNED, header: value}))


def test_auto_scheme_uses_the_signature_when_both_kinds_are_configured() -> None:
    both = verifier([TOKEN, SIGNING])
    assert_accepts(both, Delivery(VECTOR_BODY, {**SIGNED, "X-Gitlab-Token": TOKEN}))
    with pytest.raises(SignatureMismatch, match="webhook-signature"):
        both.verify(Delivery(VECTOR_BODY + b" ", {**SIGNED, "X-Gitlab-Token": TOKEN}))
    assert_accepts(both, token_delivery())


def test_a_signing_token_is_never_compared_as_a_secret_token() -> None:
    with pytest.raises(MissingHeader, match="webhook-"):
        verifier([SIGNING]).verify(token_delivery(SIGNING))


def test_token_only_config_ignores_a_signature_gitlab_also_sent() -> None:
    assert_accepts(verifier([TOKEN]), Delivery(BODY, {**SIGNED, "X-Gitlab-Token": TOKEN}))


def test_signing_scheme_refuses_a_bare_token() -> None:
    with pytest.raises(MissingHeader, match="webhook-"):
        verifier([SIGNING], scheme="signing").verify(token_delivery(SIGNING))
    assert_accepts(verifier([SIGNING], scheme="signing"), Delivery(VECTOR_BODY, SIGNED))


def test_token_scheme_treats_every_secret_as_a_token() -> None:
    assert_accepts(verifier(["whsec_literal-token"], scheme="token"), token_delivery("whsec_literal-token"))
    with pytest.raises(MissingHeader, match="X-Gitlab-Token"):
        verifier([SIGNING], scheme="token").verify(Delivery(VECTOR_BODY, SIGNED))


@pytest.mark.parametrize(
    ("secrets", "config"),
    [(["whsec_!!!"], {}), ([TOKEN], {"scheme": "signing"}), ([TOKEN], {"scheme": "hmac"})],
)
def test_bad_configuration(secrets: list[str], config: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="gitlab"):
        verifier(secrets, **config)


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, GITLAB_HEADERS)
    assert verifier().delivery_id(delivery) == "f5e5f430-f57b-4e6e-9fac-d9128cd7232f"
    assert verifier().event_type(delivery) == "Push Hook"
    assert verifier().delivery_id(Delivery(VECTOR_BODY, SIGNED)) == MSG_ID
    # Before GitLab 17.4 there is no Idempotency-Key; X-Gitlab-Event-UUID is shared by recursive hooks.
    older = {k: v for k, v in GITLAB_HEADERS.items() if k != "Idempotency-Key"}
    assert verifier().delivery_id(Delivery(BODY, older)) is None


def test_sign_with_a_secret_token_round_trips() -> None:
    headers = verifier().sign(BODY, delivery_id="idem-1", event_type="Merge Request Hook")
    assert headers == {
        "Idempotency-Key": "idem-1",
        "X-Gitlab-Event": "Merge Request Hook",
        "X-Gitlab-Token": TOKEN,
    }
    assert_accepts(verifier(), Delivery(BODY, headers))


def test_sign_with_a_signing_token_reproduces_the_vector() -> None:
    headers = verifier([SIGNING]).sign(VECTOR_BODY, timestamp=TIMESTAMP, delivery_id=MSG_ID)
    assert headers == {**SIGNED, "Idempotency-Key": MSG_ID}
    assert "X-Gitlab-Token" not in headers
    signed = verifier([SIGNING], now=TIMESTAMP).sign(BODY)
    assert_accepts(verifier([SIGNING]), Delivery(BODY, signed))


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from(["X-Gitlab-Token", "webhook-id", "webhook-timestamp", "webhook-signature"]),
        st.one_of(st.text(max_size=60), st.just(str(TIMESTAMP)), st.text("v1,abcdef+/=", max_size=50)),
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, headers: dict[str, str]) -> None:
    for secrets in ([TOKEN], [SIGNING], [TOKEN, SIGNING]):
        with pytest.raises(VerificationError):
            verifier(secrets).verify(Delivery(body, headers))
