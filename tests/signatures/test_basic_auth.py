"""Basic auth: Authorization: Basic base64(user:password), as Postmark sends from a URL's credentials."""

from __future__ import annotations

import base64

import pytest

import signatures
from signatures import ConfigurationError, Delivery, MalformedHeader, MissingHeader, SignatureMismatch
from tests.signatures.assertions import assert_accepts

USER = "postmark"
PASSWORD = "correct horse: battery staple"  # a colon in the password is allowed
BODY = b'{"RecordType": "Delivery", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483"}'


def basic(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("basic-auth", secrets or [PASSWORD], **{"username": USER, **config})


def verify(value: str, secrets: list[str] | None = None) -> None:
    verifier(secrets).verify(Delivery(BODY, {"Authorization": value}))


def test_the_rfc_example() -> None:
    # https://www.rfc-editor.org/rfc/rfc7617#section-2: user "Aladdin", password "open sesame".
    rfc = signatures.build("basic-auth", ["open sesame"], username="Aladdin")
    assert_accepts(rfc, Delivery(BODY, {"Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}))
    assert rfc.sign(BODY) == {"Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}
    with pytest.raises(SignatureMismatch):
        rfc.verify(Delivery(BODY, {"Authorization": "Basic QWxhZGRpbjpPcGVuU2VzYW1l"}))


def test_accepts_the_credentials() -> None:
    assert_accepts(verify, basic())
    assert_accepts(verify, basic().replace("Basic", "basic"))


@pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("someone", PASSWORD), ("", "")])
def test_wrong_user_or_password_is_refused_without_echoing(user: str, password: str) -> None:
    with pytest.raises(SignatureMismatch) as caught:
        verify(basic(user, password))
    assert PASSWORD not in str(caught.value)
    assert basic(user, password).split()[1] not in str(caught.value)


def test_rotated_password_matches() -> None:
    assert_accepts(verify, basic(password="old"), secrets=[PASSWORD, "old"])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="Authorization"):
        verifier().verify(Delivery(BODY, {}))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic",
        "Bearer abc",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    ],
)
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader, match="Authorization"):
        verify(value)


def test_authorization_is_a_credential_header() -> None:
    assert verifier().credential_headers == {"authorization"}


@pytest.mark.parametrize("config", [{"username": None}, {"username": ""}, {"username": "a:b"}])
def test_bad_username(config: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="basic-auth"):
        verifier(**config)


def test_no_timestamp_no_handshake_and_body_hash_dedupe() -> None:
    delivery = Delivery(BODY, {"Authorization": basic()})
    assert signatures.get_provider("basic-auth").default_tolerance is None
    assert verifier().handshake(delivery) is None
    assert verifier().delivery_id(delivery) is None


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY)
    assert headers == {"Authorization": basic()}
    assert_accepts(verifier(), Delivery(BODY, headers))
