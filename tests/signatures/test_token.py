"""Token: a shared secret in a configured header, compared in constant time, redacted by the gateway."""

from __future__ import annotations

import pytest

import signatures
from signatures import ConfigurationError, Delivery, MissingHeader, SignatureMismatch
from tests.signatures.assertions import assert_accepts

TOKEN = "s3cr3t-token-value"
BODY = b'{"id": "evt_1", "type": "thing.happened"}'


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("token", secrets or [TOKEN], **{"header": "X-Webhook-Token", **config})


def test_accepts_the_token() -> None:
    assert_accepts(verifier(), Delivery(BODY, {"x-webhook-token": TOKEN}))


def test_the_rfc_bearer_example() -> None:
    # https://www.rfc-editor.org/rfc/rfc6750#section-2.1: "Authorization: Bearer mF_9.B5f-4.1JqM".
    bearer = signatures.build("token", ["mF_9.B5f-4.1JqM"], header="Authorization", prefix="Bearer ")
    assert_accepts(bearer, Delivery(BODY, {"Authorization": "Bearer mF_9.B5f-4.1JqM"}))
    assert bearer.sign(BODY) == {"Authorization": "Bearer mF_9.B5f-4.1JqM"}
    with pytest.raises(SignatureMismatch):
        bearer.verify(Delivery(BODY, {"Authorization": "Bearer mF_9.B5f-4.1JqN"}))


def test_prefix() -> None:
    bearer = verifier(header="Authorization", prefix="Bearer ")
    assert_accepts(bearer, Delivery(BODY, {"Authorization": f"Bearer {TOKEN}"}))
    with pytest.raises(SignatureMismatch):
        bearer.verify(Delivery(BODY, {"Authorization": TOKEN}))


def test_wrong_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(SignatureMismatch) as caught:
        verifier().verify(Delivery(BODY, {"X-Webhook-Token": "guess"}))
    assert "guess" not in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_prefix_of_the_token_is_refused() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, {"X-Webhook-Token": TOKEN[:-1]}))


def test_rotated_token_matches() -> None:
    assert_accepts(verifier(["new-token", TOKEN]), Delivery(BODY, {"X-Webhook-Token": TOKEN}))


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-Webhook-Token"):
        verifier().verify(Delivery(BODY, {}))


def test_credential_header_is_the_configured_one_lower_cased() -> None:
    assert verifier().credential_headers == {"x-webhook-token"}
    assert verifier(header="Authorization").credential_headers == {"authorization"}
    assert signatures.get_provider("token").credential_headers == frozenset()


@pytest.mark.parametrize("config", [{"header": None}, {"header": ""}, {"header": "X Bad"}, {"prefix": 1}])
def test_bad_options(config: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="token"):
        verifier(**config)


def test_sign_verify_round_trip() -> None:
    signer = verifier(header="Authorization", prefix="Bearer ", delivery_id="header:X-Request-Id")
    headers = signer.sign(BODY, delivery_id="req-1")
    assert headers == {"X-Request-Id": "req-1", "Authorization": f"Bearer {TOKEN}"}
    assert_accepts(signer, Delivery(BODY, headers))
