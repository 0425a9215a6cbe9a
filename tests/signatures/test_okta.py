"""Okta event hooks: the configured auth header holds the secret; a GET answers the verification challenge."""

from __future__ import annotations

import json

import pytest

import signatures
from signatures import ConfigurationError, Delivery, Handshake, MissingHeader, SignatureMismatch
from tests.signatures.assertions import assert_accepts

SECRET = "Basic b2t0YTpob29rLXNlY3JldA=="
CHALLENGE = "X1bA2sOfLz5kG5t4XaTbGoQaYtk9ErMMK3ET2Sr3"
# The shape of the event hook request in Okta's docs: one eventId, several events in data.events.
BODY = json.dumps(
    {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://example.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
        "eventId": "b5a188b9-5ece-4636-b041-482ffe5e4c35",
        "eventTime": "2024-01-15T21:35:48.000Z",
        "contentType": "application/json",
        "data": {
            "events": [{"uuid": "3ab7f4ad-b3f0-11ee-8f75-2f5b8d1b5b6a", "eventType": "user.session.start"}]
        },
    }
).encode()


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("okta", secrets or [SECRET], **config)


def test_accepts_the_authorization_header() -> None:
    assert_accepts(verifier(), Delivery(BODY, {"Authorization": SECRET}))


def test_wrong_value_is_refused_without_echoing_it() -> None:
    with pytest.raises(SignatureMismatch) as caught:
        verifier().verify(Delivery(BODY, {"Authorization": "Basic d3Jvbmc="}))
    assert "d3Jvbmc" not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_rotated_secret_matches() -> None:
    assert_accepts(verifier(["new", SECRET]), Delivery(BODY, {"Authorization": SECRET}))


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="Authorization"):
        verifier().verify(Delivery(BODY, {}))


def test_configured_header_and_its_redaction() -> None:
    custom = verifier(header="X-Okta-Secret")
    assert_accepts(custom, Delivery(BODY, {"x-okta-secret": SECRET}))
    with pytest.raises(MissingHeader, match="X-Okta-Secret"):
        custom.verify(Delivery(BODY, {"Authorization": SECRET}))
    assert custom.credential_headers == {"x-okta-secret"}
    assert verifier().credential_headers == {"authorization"}


def test_prefix_is_not_an_okta_option() -> None:
    with pytest.raises(ConfigurationError, match="okta"):
        verifier(prefix="Bearer ")


def test_verification_get_is_authenticated_and_answered() -> None:
    assert signatures.get_provider("okta").answers_get
    check = Delivery(b"", {"Authorization": SECRET, "X-Okta-Verification-Challenge": CHALLENGE}, method="GET")
    assert_accepts(verifier(), check)
    answer = verifier().handshake(check)
    assert answer == Handshake(200, json.dumps({"verification": CHALLENGE}).encode(), "application/json")
    assert json.loads(answer.body) == {"verification": CHALLENGE}


def test_the_documented_verification_exchange() -> None:
    # The request and answer of https://support.okta.com/help/s/article/Unable-to-verify-event-hook-Hook-hook-name-execution-failed
    # (the "one-time verification request" of https://developer.okta.com/docs/concepts/event-hooks/).
    documented = Delivery(
        b"",
        {
            "User-Agent": "Okta-Integrations",
            "Accept": "application/json",
            "X-Okta-Request-Id": "XOZfPkReFFZ10KWyGkzAMwAAADA",
            "X-Okta-Verification-Challenge": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg",
            "x-any-key": "my-header-value",
            "Authorization": "my-shared-secret",
        },
        method="GET",
    )
    okta = verifier(["my-shared-secret"])
    assert_accepts(okta, documented)
    answer = okta.handshake(documented)
    assert answer is not None and answer.status == 200
    assert json.loads(answer.body) == json.loads(
        '{"verification":"Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"}'
    )


def test_verification_get_without_the_secret_is_refused() -> None:
    check = Delivery(b"", {"X-Okta-Verification-Challenge": CHALLENGE}, method="GET")
    with pytest.raises(MissingHeader):
        verifier().verify(check)


def test_no_handshake_for_events() -> None:
    event = Delivery(BODY, {"Authorization": SECRET, "X-Okta-Verification-Challenge": CHALLENGE})
    assert verifier().handshake(event) is None
    assert verifier().handshake(Delivery(b"", {"Authorization": SECRET}, method="GET")) is None


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "b5a188b9-5ece-4636-b041-482ffe5e4c35"
    assert verifier().event_type(delivery) == "com.okta.event_hook"
    batch_type = verifier(event_type="json:data.events.0.eventType")
    assert batch_type.event_type(delivery) == "user.session.start"


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY)
    assert headers == {"Authorization": SECRET}
    assert_accepts(verifier(), Delivery(BODY, headers))
