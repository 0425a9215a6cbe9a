"""The generic "hmac" provider: configured header, algorithm, encoding and prefix."""

from __future__ import annotations

import base64
import hmac

import pytest

import signatures
from signatures import ConfigurationError, Delivery, MalformedHeader, MissingHeader, SignatureMismatch
from tests.signatures.assertions import assert_accepts

SECRET = "partner-secret"
BODY = b'{"id": "dlv_1", "type": "order.created"}'
CONFIG = {"header": "X-Partner-Signature", "prefix": "sha256="}
# Known answers for the keyed hash itself, copied from the RFCs: test case 2 (key "Jefe", data "what do ya
# want for nothing?") of https://www.rfc-editor.org/rfc/rfc4231#section-4.3 (SHA-2) and of
# https://www.rfc-editor.org/rfc/rfc2202#section-3 (SHA-1).
RFC_KEY = "Jefe"
RFC_DATA = b"what do ya want for nothing?"
RFC_DIGESTS = {
    "sha1": "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    "sha256": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    "sha384": (
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"
    ),
    "sha512": (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    ),
}


def expected(secret: str = SECRET, body: bytes = BODY, algorithm: str = "sha256") -> bytes:
    return hmac.new(secret.encode(), body, algorithm).digest()


def verify(value: str, body: bytes = BODY, secrets: list[str] | None = None, **config: str) -> None:
    merged = {**CONFIG, **config}
    verifier = signatures.build("hmac", secrets or [SECRET], **merged)
    verifier.verify(Delivery(body, {merged["header"]: value}))


@pytest.mark.parametrize(("algorithm", "digest"), RFC_DIGESTS.items())
def test_rfc_known_answers(algorithm: str, digest: str) -> None:
    rfc = signatures.build("hmac", [RFC_KEY], header="X-Sig", algorithm=algorithm, prefix="")
    assert_accepts(rfc, Delivery(RFC_DATA, {"X-Sig": digest}))
    assert rfc.sign(RFC_DATA) == {"X-Sig": digest}
    as_base64 = base64.b64encode(bytes.fromhex(digest)).decode()
    in_base64 = signatures.build("hmac", [RFC_KEY], header="X-Sig", algorithm=algorithm, encoding="base64")
    assert_accepts(in_base64, Delivery(RFC_DATA, {"X-Sig": as_base64}))
    with pytest.raises(SignatureMismatch):
        rfc.verify(Delivery(RFC_DATA + b" ", {"X-Sig": digest}))


def test_hex_with_prefix() -> None:
    assert_accepts(verify, "sha256=" + expected().hex())


def test_hex_is_case_insensitive() -> None:
    assert_accepts(verify, "sha256=" + expected().hex().upper())


def test_base64_sha512_without_prefix() -> None:
    value = base64.b64encode(expected(algorithm="sha512")).decode()
    assert_accepts(verify, value, header="X-Sig", algorithm="sha512", encoding="base64", prefix="")


def test_sha1_and_sha384() -> None:
    assert_accepts(verify, "sha1=" + expected(algorithm="sha1").hex(), algorithm="sha1", prefix="sha1=")
    assert_accepts(verify, expected(algorithm="sha384").hex(), algorithm="sha384", prefix="")


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch, match="X-Partner-Signature"):
        verify("sha256=" + expected().hex(), body=BODY + b"\n")


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify("sha256=" + expected("other").hex())


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, "sha256=" + expected().hex(), secrets=["new-secret", SECRET])


def test_missing_header() -> None:
    verifier = signatures.build("hmac", [SECRET], **CONFIG)
    with pytest.raises(MissingHeader, match="X-Partner-Signature"):
        verifier.verify(Delivery(BODY, {}))


@pytest.mark.parametrize("value", [expected().hex(), "sha256=", "sha256=not-hex", "sha1=" + expected().hex()])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify(value)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({}, "header"),
        ({"header": ""}, "header"),
        ({"header": "X-Sig", "algorithm": "md5"}, "algorithm"),
        ({"header": "X-Sig", "encoding": "base32"}, "encoding"),
        ({"header": "X-Sig", "prefix": 3}, "prefix"),
    ],
)
def test_bad_options_name_the_key(config: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigurationError, match=f"'{key}'"):
        signatures.build("hmac", [SECRET], **config)


def test_no_default_locators_but_configured_ones_work() -> None:
    plain = signatures.build("hmac", [SECRET], **CONFIG)
    delivery = Delivery(BODY, {"X-Partner-Delivery": "d-9"})
    assert plain.delivery_id(delivery) is None
    assert plain.event_type(delivery) is None
    configured = signatures.build(
        "hmac", [SECRET], delivery_id="header:X-Partner-Delivery", event_type="json:type", **CONFIG
    )
    assert configured.delivery_id(delivery) == "d-9"
    assert configured.event_type(delivery) == "order.created"


def test_sign_verify_round_trip_with_header_locators() -> None:
    verifier = signatures.build(
        "hmac",
        [SECRET],
        delivery_id="header:X-Partner-Delivery",
        event_type="header:X-Partner-Event",
        **CONFIG,
    )
    headers = verifier.sign(BODY, delivery_id="d-1", event_type="order.created")
    assert headers == {
        "X-Partner-Signature": "sha256=" + expected().hex(),
        "X-Partner-Delivery": "d-1",
        "X-Partner-Event": "order.created",
    }
    assert_accepts(verifier, Delivery(BODY, headers))


def test_signature_header_is_named_for_redaction() -> None:
    assert signatures.build("hmac", [SECRET], **CONFIG).signature_headers == {"x-partner-signature"}
