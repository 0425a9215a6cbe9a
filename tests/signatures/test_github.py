"""GitHub: the documented vector, the legacy SHA-1 header, rotation and refusals."""

from __future__ import annotations

import pytest

import signatures
from signatures import Delivery, MalformedHeader, MissingHeader, SignatureMismatch
from tests.signatures.assertions import assert_accepts

# The test values of https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
# ("Testing the webhook payload validation"): this secret and payload give this signature.
SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
DOCUMENTED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def verify(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> None:
    signatures.build("github", secrets or [SECRET]).verify(Delivery(body, headers))


def test_documented_vector() -> None:
    assert_accepts(verify, {"X-Hub-Signature-256": DOCUMENTED})
    assert_accepts(verify, {"x-hub-signature-256": DOCUMENTED.upper().replace("SHA256=", "sha256=")})


def test_sign_reproduces_the_documented_vector() -> None:
    headers = signatures.build("github", [SECRET]).sign(BODY, delivery_id="d-1", event_type="push")
    assert headers["X-Hub-Signature-256"] == DOCUMENTED
    assert headers["X-GitHub-Delivery"] == "d-1"
    assert headers["X-GitHub-Event"] == "push"
    assert headers["X-Hub-Signature"].startswith("sha1=")
    assert_accepts(verify, headers)


def test_legacy_sha1_header_alone_is_accepted() -> None:
    sha1 = signatures.build("github", [SECRET]).sign(BODY)["X-Hub-Signature"]
    assert_accepts(verify, {"X-Hub-Signature": sha1})


def test_legacy_header_is_ignored_when_sha256_is_present() -> None:
    sha1 = signatures.build("github", [SECRET]).sign(BODY)["X-Hub-Signature"]
    with pytest.raises(SignatureMismatch, match="X-Hub-Signature-256"):
        verify({"X-Hub-Signature-256": "sha256=" + "0" * 64, "X-Hub-Signature": sha1})


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify({"X-Hub-Signature-256": DOCUMENTED}, body=b"Hello, World?")


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify({"X-Hub-Signature-256": DOCUMENTED}, secrets=["not it"])


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, {"X-Hub-Signature-256": DOCUMENTED}, secrets=["new secret", SECRET])


def test_missing_header() -> None:
    with pytest.raises(MissingHeader, match="X-Hub-Signature-256"):
        verify({"X-GitHub-Event": "push"})


@pytest.mark.parametrize("value", ["757107ea", "sha1=757107ea", "sha256=", "sha256=xyz", "sha256 757107ea"])
def test_malformed_header(value: str) -> None:
    with pytest.raises(MalformedHeader):
        verify({"X-Hub-Signature-256": value})


def test_delivery_id_and_event_type() -> None:
    verifier = signatures.build("github", [SECRET])
    delivery = Delivery(BODY, {"X-GitHub-Delivery": "72d3162e-cc78", "X-GitHub-Event": "push"})
    assert verifier.delivery_id(delivery) == "72d3162e-cc78"
    assert verifier.event_type(delivery) == "push"
    assert verifier.delivery_id(Delivery(BODY, {})) is None


def test_signature_headers_are_named_for_redaction() -> None:
    assert signatures.get_provider("github").signature_headers == {"x-hub-signature-256", "x-hub-signature"}
