"""HubSpot: v3 against the official SDK, the docs' v1/v2 vectors, URI decoding, tolerance in milliseconds."""

from __future__ import annotations

import json

import pytest
from hubspot.utils.signature import Signature
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

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
NOW = 1_700_000_000
NOW_MS = NOW * 1000
URL = "https://hooks.example.com/webhooks/hubspot"
# https://developers.hubspot.com/docs/faq/v1-request-validation (the body and the expected hash)
BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
    b'"changeFlag":"NEW","appId":54321}]'
)
V1_EXPECTED = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
# https://developers.hubspot.com/docs/faq/v2-request-validation (the GET example)
V2_GET_URL = "https://www.example.com/webhook_uri"
V2_GET_EXPECTED = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"


def verifier(secrets: list[str] | None = None, **config: object) -> signatures.Verifier:
    return signatures.build("hubspot", secrets or [SECRET], clock=lambda: float(NOW), **config)


def v3_headers(
    body: bytes = BODY, secret: str = SECRET, timestamp_ms: int = NOW_MS, url: str = URL, method: str = "POST"
) -> dict[str, str]:
    signature = Signature.get_signature(secret, body.decode(), "v3", url, method, str(timestamp_ms))
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(timestamp_ms)}


def verify(
    headers: dict[str, str], body: bytes = BODY, url: str = URL, method: str = "POST", **config: object
) -> None:
    verifier(**config).verify(Delivery(body, headers, url=url, method=method))


def test_signs_the_url() -> None:
    assert signatures.get_provider("hubspot").signs_url


def test_accepts_the_sdk_v3_signature() -> None:
    assert_accepts(verify, v3_headers())


def test_sdk_v3_signature_of_a_get_request() -> None:
    url = URL + "?userId=1&portalId=62515"
    assert_accepts(verify, v3_headers(b"", url=url, method="GET"), body=b"", url=url, method="GET")


def test_sign_matches_the_sdk() -> None:
    headers = verifier().sign(BODY, timestamp=NOW, url=URL)
    assert headers == v3_headers()


def test_uri_escapes_listed_by_hubspot_are_decoded() -> None:
    received = URL + "?redirect=https%3A%2F%2Fapp.example.com%2Fa%2Cb&q=%28x%29%3B%40y%21%24%27%2A&sp=a%20b"
    decoded = URL + "?redirect=https://app.example.com/a,b&q=(x);@y!$'*&sp=a%20b"
    assert_accepts(verify, v3_headers(url=decoded), url=received)
    assert_accepts(verify, v3_headers(url=decoded), url=received.replace("%3A", "%3a"))
    with pytest.raises(SignatureMismatch):
        verify(v3_headers(url=received), url=received)


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verify(v3_headers(), body=BODY.replace(b"NEW", b"OLD"))


@pytest.mark.parametrize(("url", "method"), [(URL + "/other", "POST"), (URL, "PUT")])
def test_other_url_or_method_is_a_mismatch(url: str, method: str) -> None:
    with pytest.raises(SignatureMismatch):
        verify(v3_headers(), url=url, method=method)


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch):
        verify(v3_headers(secret="other"))


def test_rotated_secret_matches() -> None:
    assert_accepts(verify, v3_headers(secret="old"), secrets=["new", "old"])


@pytest.mark.parametrize("missing", ["X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"])
def test_missing_header(missing: str) -> None:
    headers = v3_headers()
    del headers[missing]
    with pytest.raises(MissingHeader, match=missing):
        verify(headers)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-HubSpot-Signature-v3", " "),
        ("X-HubSpot-Request-Timestamp", "soon"),
        ("X-HubSpot-Request-Timestamp", ""),
    ],
)
def test_malformed_header(header: str, value: str) -> None:
    with pytest.raises(MalformedHeader, match=header):
        verify({**v3_headers(), header: value})


@pytest.mark.parametrize("offset_ms", [-301_000, 301_000])
def test_timestamps_beyond_tolerance(offset_ms: int) -> None:
    with pytest.raises(TimestampOutOfTolerance):
        verify(v3_headers(timestamp_ms=NOW_MS + offset_ms))


@pytest.mark.parametrize("offset_ms", [-300_000, 300_000, 299_999])
def test_timestamps_just_inside_tolerance(offset_ms: int) -> None:
    assert_accepts(verify, v3_headers(timestamp_ms=NOW_MS + offset_ms))


def test_tolerance_is_configurable() -> None:
    assert_accepts(verify, v3_headers(timestamp_ms=NOW_MS - 3_000_000), tolerance=3600)


def test_forged_stale_delivery_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        verify(v3_headers(secret="other", timestamp_ms=NOW_MS - 10_000_000))


def test_docs_v1_vector() -> None:
    assert_accepts(verify, {"X-HubSpot-Signature": V1_EXPECTED, "X-HubSpot-Signature-Version": "v1"}, url="")
    assert Signature.get_signature(SECRET, BODY.decode(), "v1") == V1_EXPECTED


def test_docs_v2_vector() -> None:
    headers = {"X-HubSpot-Signature": V2_GET_EXPECTED, "X-HubSpot-Signature-Version": "v2"}
    assert_accepts(verify, headers, body=b"", url=V2_GET_URL, method="GET")
    with pytest.raises(SignatureMismatch):
        verify(headers, body=b"", url=V2_GET_URL + "/other", method="GET")


def test_sdk_v2_signature_with_a_body() -> None:
    signature = Signature.get_signature(SECRET, BODY.decode(), "v2", URL, "POST")
    assert_accepts(verify, {"X-HubSpot-Signature": signature.upper(), "X-HubSpot-Signature-Version": "v2"})


def test_legacy_tampered_body_and_wrong_secret() -> None:
    headers = {"X-HubSpot-Signature": V1_EXPECTED, "X-HubSpot-Signature-Version": "v1"}
    with pytest.raises(SignatureMismatch):
        verify(headers, body=BODY + b" ")
    with pytest.raises(SignatureMismatch):
        verify(headers, secrets=["other"])
    assert_accepts(verify, headers, secrets=["other", SECRET])


@pytest.mark.parametrize(
    "headers",
    [
        {"X-HubSpot-Signature": V1_EXPECTED, "X-HubSpot-Signature-Version": "v3"},
        {"X-HubSpot-Signature": V1_EXPECTED[:-1], "X-HubSpot-Signature-Version": "v1"},
    ],
)
def test_malformed_legacy_headers(headers: dict[str, str]) -> None:
    with pytest.raises(MalformedHeader):
        verify(headers)


def test_legacy_needs_the_version_header() -> None:
    with pytest.raises(MissingHeader, match="X-HubSpot-Signature-Version"):
        verify({"X-HubSpot-Signature": V1_EXPECTED})


def test_v3_is_preferred_over_a_legacy_signature() -> None:
    headers = {
        **v3_headers(secret="other"),
        "X-HubSpot-Signature": V1_EXPECTED,
        "X-HubSpot-Signature-Version": "v1",
    }
    with pytest.raises(SignatureMismatch, match="v3"):
        verify(headers)


def test_legacy_can_be_turned_off() -> None:
    headers = {"X-HubSpot-Signature": V1_EXPECTED, "X-HubSpot-Signature-Version": "v1"}
    with pytest.raises(MissingHeader, match="X-HubSpot-Signature-v3"):
        verify(headers, legacy=False)
    with pytest.raises(ConfigurationError, match="legacy"):
        verifier(legacy="no")


def test_event_type_from_the_first_event_and_no_delivery_id() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().event_type(delivery) == "contact.creation"
    assert verifier().delivery_id(delivery) is None
    assert verifier().event_type(Delivery(json.dumps({"callbackId": "ap-1"}).encode(), {})) is None


def test_sign_verify_round_trip() -> None:
    headers = verifier().sign(BODY, delivery_id="ignored", event_type="ignored", url=URL)
    assert set(headers) == {"X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"}
    assert headers["X-HubSpot-Request-Timestamp"] == str(NOW_MS)
    assert_accepts(verifier(), Delivery(BODY, headers, url=URL))


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "X-HubSpot-Signature-v3",
                "X-HubSpot-Request-Timestamp",
                "X-HubSpot-Signature",
                "X-HubSpot-Signature-Version",
            ]
        ),
        st.one_of(st.text(max_size=70), st.just(str(NOW_MS)), st.sampled_from(["v1", "v2", V1_EXPECTED])),
    ),
    url=st.text(max_size=40),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, headers: dict[str, str], url: str) -> None:
    delivery = Delivery(body, headers, url=url)
    with pytest.raises(VerificationError):
        verifier().verify(delivery)
    verifier().event_type(delivery)
