"""The shared core: errors, Delivery, Locator, the HMAC helpers, the base class and the registry."""

from __future__ import annotations

import pytest

import signatures
from signatures import (
    ConfigurationError,
    Delivery,
    Locator,
    SignaturesError,
    SigningNotSupported,
    TimestampOutOfTolerance,
    VerificationError,
)
from signatures.hmac import check_timestamp, digest, encode, matches_any
from tests.signatures.assertions import assert_accepts

GITHUB_SECRET = "It's a Secret to Everybody"


def test_error_tree_and_reasons() -> None:
    assert issubclass(ConfigurationError, ValueError)
    assert issubclass(ConfigurationError, SignaturesError)
    assert issubclass(SigningNotSupported, SignaturesError)
    reasons = {cls.__name__: cls.reason for cls in VerificationError.__subclasses__()}
    assert reasons == {
        "MissingHeader": "missing_header",
        "MalformedHeader": "malformed_header",
        "SignatureMismatch": "signature_mismatch",
        "TimestampOutOfTolerance": "timestamp_out_of_tolerance",
        "CertificateRefused": "certificate_refused",
    }


def test_public_api_is_exported() -> None:
    for name in signatures.__all__:
        assert hasattr(signatures, name)


def test_delivery_normalises_header_names() -> None:
    delivery = Delivery(b"{}", {"X-GitHub-Event": "push"}, url="https://example.test/hook")
    assert delivery.headers == {"x-github-event": "push"}
    assert delivery.header("X-GITHUB-EVENT") == "push"
    assert delivery.header("x-missing") is None
    assert (delivery.method, delivery.url) == ("POST", "https://example.test/hook")


def test_delivery_json_is_parsed_once_and_none_when_not_json() -> None:
    delivery = Delivery(b'{"a": [1, 2]}', {})
    assert delivery.json() == {"a": [1, 2]}
    assert delivery.json() is delivery.json()
    assert Delivery(b"not json", {}).json() is None
    assert Delivery(b"\xff\xfe\x00", {}).json() is None
    assert Delivery(b"[" * 100_000, {}).json() is None


@pytest.mark.parametrize(
    ("spec", "body", "headers", "expected"),
    [
        ("header:X-Request-Id", b"", {"x-request-id": "abc"}, "abc"),
        ("json:id", b'{"id": "evt_1"}', {}, "evt_1"),
        ("json:data.object.id", b'{"data": {"object": {"id": "ch_1"}}}', {}, "ch_1"),
        ("json:items.1", b'{"items": ["a", "b"]}', {}, "b"),
        ("json:id", b'{"id": 12345}', {}, "12345"),
        ("json:score", b'{"score": 1.5}', {}, "1.5"),
        ("json:live", b'{"live": true}', {}, "true"),
        ("header:X-Request-Id", b"", {}, None),
        ("json:id", b'{"other": 1}', {}, None),
        ("json:id.deeper", b'{"id": "flat"}', {}, None),
        ("json:id", b'{"id": {"nested": 1}}', {}, None),
        ("json:id", b'{"id": null}', {}, None),
        ("json:items.5", b'{"items": ["a"]}', {}, None),
        ("json:id", b"id=1&x=2", {}, None),
        ("json:id", b'["id"]', {}, None),
    ],
)
def test_locator_find(spec: str, body: bytes, headers: dict[str, str], expected: str | None) -> None:
    assert Locator.parse(spec).find(Delivery(body, headers)) == expected


@pytest.mark.parametrize("spec", ["", "id", "header:", "json:", "json:a..b", "query:id", "header:X Name"])
def test_locator_parse_rejects_malformed_specs(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="bad locator"):
        Locator.parse(spec)


def test_digest_and_encode_known_answer() -> None:
    raw = digest("sha256", GITHUB_SECRET.encode(), b"Hello, World!")
    assert encode(raw, "hex") == "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert encode(raw, "base64") == "dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc="
    assert len(digest("sha512", b"k", b"m")) == 64


def test_digest_and_encode_refuse_unknown_names() -> None:
    with pytest.raises(ConfigurationError, match="md5"):
        digest("md5", b"k", b"m")
    with pytest.raises(ConfigurationError, match="base32"):
        encode(b"x", "base32")


def test_matches_any() -> None:
    assert matches_any(["aa", b"bb"], ["cc", "bb"])
    assert not matches_any(["aa"], ["ab", "a", ""])
    assert not matches_any([], ["aa"])
    assert not matches_any(["aa"], ["ä"])


def test_check_timestamp_bounds() -> None:
    check_timestamp(1000, now=1300, tolerance=300)
    check_timestamp(1300, now=1000, tolerance=300)
    with pytest.raises(TimestampOutOfTolerance, match="old"):
        check_timestamp(1000, now=1301, tolerance=300)
    with pytest.raises(TimestampOutOfTolerance, match="future"):
        check_timestamp(1301, now=1000, tolerance=300)


def test_registry_lists_and_builds_providers() -> None:
    assert {"github", "stripe", "standard-webhooks", "svix", "hmac"} <= set(signatures.provider_names())
    assert signatures.get_provider("github").name == "github"
    with pytest.raises(ConfigurationError, match=r"unknown provider 'nope' \(known: .*github"):
        signatures.get_provider("nope")


def test_verify_in_one_call() -> None:
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert_accepts(
        signatures, "github", b"Hello, World!", {"X-Hub-Signature-256": signature}, [GITHUB_SECRET]
    )
    with pytest.raises(signatures.SignatureMismatch):
        signatures.verify("github", b"Hello, World?", {"X-Hub-Signature-256": signature}, [GITHUB_SECRET])


@pytest.mark.parametrize(
    ("secrets", "config", "message"),
    [
        ([], {}, "non-empty list of secrets"),
        ("a-string", {}, "non-empty list of secrets"),
        ([""], {}, "secret #1"),
        (["s"], {"colour": "red"}, "unknown option 'colour'"),
        (["s"], {"tolerance": -1}, "tolerance"),
        (["s"], {"tolerance": "300"}, "tolerance"),
        (["s"], {"delivery_id": "somewhere"}, "bad locator 'somewhere'"),
    ],
)
def test_base_config_errors(secrets: list[str], config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        signatures.build("stripe", secrets, **config)


def test_tolerance_and_clock_are_injectable() -> None:
    verifier = signatures.build("stripe", ["whsec_x"], clock=lambda: 42.0)
    assert verifier.tolerance == 300
    assert verifier.clock() == 42.0
    assert signatures.build("stripe", ["whsec_x"], tolerance=10).tolerance == 10
    assert signatures.build("github", ["x"]).tolerance is None


def test_configured_locators_override_the_defaults() -> None:
    verifier = signatures.build("github", ["x"], delivery_id="json:hook_id", event_type="json:action")
    delivery = Delivery(b'{"hook_id": 7, "action": "opened"}', {"X-GitHub-Delivery": "d-1"})
    assert verifier.delivery_id(delivery) == "7"
    assert verifier.event_type(delivery) == "opened"


def test_handshake_is_none_by_default() -> None:
    assert signatures.build("github", ["x"]).handshake(Delivery(b"", {})) is None


@pytest.mark.parametrize("provider", ["github", "stripe", "standard-webhooks", "svix"])
def test_errors_never_carry_the_secret_or_expected_signature(provider: str) -> None:
    secret, other = "whsec_dG9wLXNlY3JldC12YWx1ZQ==", "whsec_b3RoZXItc2VjcmV0"
    verifier = signatures.build(provider, [secret])
    expected = verifier.sign(b"{}", timestamp=1, delivery_id="msg_1")
    forged = signatures.build(provider, [other]).sign(b"{}", timestamp=1, delivery_id="msg_1")
    with pytest.raises(VerificationError) as info:
        verifier.verify(Delivery(b"{}", forged))
    for value in [secret, *expected.values()]:
        if value not in forged.values():
            assert value.rstrip("=")[-16:] not in str(info.value)
