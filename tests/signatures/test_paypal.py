"""PayPal: the signed string against PayPal's own SDK, RSA signatures from a local test CA, the certificate
URL rule (no request to a foreign host), the cache, and refusals."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import (
    CertificateRefused,
    Delivery,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SigningNotSupported,
    TimestampOutOfTolerance,
    VerificationError,
)
from signatures.providers.paypal import signed_string
from tests.signatures.assertions import assert_accepts
from tests.signatures.pki import HOSTILE_URL_TRICKS, NOW, Authority, FakeFetch, pem

# The event, ids and signed string of PayPal's Python SDK tests (paypal/PayPal-Python-SDK,
# test/unit_tests/notifications_test.py); the certificate it was signed with is only online, so the
# RSA half is proven below with a local CA instead.
SDK_BODY = (
    '{"id":"WH-0G2756385H040842W-5Y612302CV158622M","create_time":"2015-05-18T15:45:13Z","resource_type":'
    '"sale","event_type":"PAYMENT.SALE.COMPLETED","summary":"Payment completed for $ 20.0 USD","resource":'
    '{"id":"4EU7004268015634R","create_time":"2015-05-18T15:44:02Z","update_time":"2015-05-18T15:44:21Z",'
    '"amount":{"total":"20.00","currency":"USD"},"payment_mode":"INSTANT_TRANSFER","state":"completed"}}'
)
SDK_TRANSMISSION = ("dfb3be50-fd74-11e4-8bf3-77339302725b", "2015-05-18T15:45:13Z", "4JH86294D6297924G")

WEBHOOK_ID = "1JE4291016473214C"
CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270"
SANDBOX_CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
BODY = json.dumps(
    {
        "id": "WH-58D329510W468432D-8HN650336L201105X",
        "event_version": "1.0",
        "create_time": "2026-01-15T11:59:58.000Z",
        "resource_type": "capture",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "summary": "Payment completed for $ 2.51 USD",
        "resource": {"id": "42311647XV020574X", "status": "COMPLETED"},
    }
).encode()
TRANSMISSION_ID = "69cd13f0-d67a-11e5-baa3-778b53f4ae55"
TRANSMISSION_TIME = "2026-01-15T11:59:59Z"

CA = Authority.root()
LEAF = CA.leaf("messageverificationcerts.paypal.com")
OTHER_LEAF = CA.leaf("messageverificationcerts.paypal.com")


def headers(
    body: bytes = BODY,
    webhook_id: str = WEBHOOK_ID,
    leaf: object = LEAF,
    cert_url: str = CERT_URL,
    time: str = TRANSMISSION_TIME,
) -> dict[str, str]:
    signature = leaf.sign(signed_string(TRANSMISSION_ID, time, webhook_id, body))  # type: ignore[attr-defined]
    return {
        "PAYPAL-TRANSMISSION-ID": TRANSMISSION_ID,
        "PAYPAL-TRANSMISSION-TIME": time,
        "PAYPAL-TRANSMISSION-SIG": signature,
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }


def fetcher(document: bytes = pem(LEAF.certificate), url: str = CERT_URL) -> FakeFetch:
    return FakeFetch({url: document})


def verifier(
    fetch: FakeFetch | None = None, secrets: list[str] | None = None, **config: object
) -> signatures.Verifier:
    return signatures.build(
        "paypal",
        secrets or [WEBHOOK_ID],
        clock=lambda: NOW.timestamp(),
        fetch=fetch if fetch is not None else fetcher(),
        **config,
    )


def test_signed_string_is_what_paypals_sdk_builds() -> None:
    notifications = pytest.importorskip("paypalrestsdk.notifications")
    expected = notifications.WebhookEvent._get_expected_sig(*SDK_TRANSMISSION, SDK_BODY)
    assert signed_string(*SDK_TRANSMISSION, SDK_BODY.encode()).decode() == expected
    crc = zlib.crc32(SDK_BODY.encode())
    assert expected == f"dfb3be50-fd74-11e4-8bf3-77339302725b|2015-05-18T15:45:13Z|4JH86294D6297924G|{crc}"


@settings(max_examples=50, deadline=None)
@given(body=st.binary(max_size=200), webhook_id=st.from_regex(r"[A-Z0-9]{17}", fullmatch=True))
def test_signed_string_matches_the_sdk_on_any_body(body: bytes, webhook_id: str) -> None:
    notifications = pytest.importorskip("paypalrestsdk.notifications")
    text = body.decode("utf-8", "replace")
    expected = notifications.WebhookEvent._get_expected_sig(
        TRANSMISSION_ID, TRANSMISSION_TIME, webhook_id, text
    )
    assert signed_string(TRANSMISSION_ID, TRANSMISSION_TIME, webhook_id, text.encode()).decode() == expected


def test_accepts_a_delivery_signed_by_the_certificate() -> None:
    fetch = fetcher()
    assert_accepts(verifier(fetch), Delivery(BODY, headers()))
    assert fetch.calls == [CERT_URL]


def test_sandbox_and_api_m_hosts_are_paypals() -> None:
    for url in (SANDBOX_CERT_URL, CERT_URL.replace("//api.", "//api-m.")):
        assert_accepts(verifier(fetcher(url=url)), Delivery(BODY, headers(cert_url=url)))


def test_sha1_with_rsa_as_paypals_sdk_maps_it() -> None:
    signed = headers()
    message = signed_string(TRANSMISSION_ID, TRANSMISSION_TIME, WEBHOOK_ID, BODY)
    signed |= {
        "PAYPAL-AUTH-ALGO": "SHA1withRSA",
        "PAYPAL-TRANSMISSION-SIG": LEAF.sign(message, hashes.SHA1()),
    }
    assert_accepts(verifier(), Delivery(BODY, signed))


def test_tampered_body() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY + b" ", headers()))


def test_signature_by_another_certificate() -> None:
    with pytest.raises(SignatureMismatch):
        verifier().verify(Delivery(BODY, headers(leaf=OTHER_LEAF)))


def test_wrong_webhook_id() -> None:
    with pytest.raises(SignatureMismatch, match="webhook ID"):
        verifier(secrets=["5GP028458E2496506"]).verify(Delivery(BODY, headers()))


def test_several_webhook_ids_any_may_match() -> None:
    assert_accepts(verifier(secrets=["5GP028458E2496506", WEBHOOK_ID]), Delivery(BODY, headers()))


@pytest.mark.parametrize(
    "missing",
    [
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-TIME",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO",
    ],
)
def test_missing_header(missing: str) -> None:
    fetch = fetcher()
    signed = headers()
    del signed[missing]
    with pytest.raises(MissingHeader, match=missing):
        verifier(fetch).verify(Delivery(BODY, signed))
    assert fetch.calls == []


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("PAYPAL-TRANSMISSION-SIG", "not base64!"),
        ("PAYPAL-TRANSMISSION-SIG", "YWJ"),
        ("PAYPAL-AUTH-ALGO", "MD5withRSA"),
        ("PAYPAL-AUTH-ALGO", "sha256"),
        ("PAYPAL-TRANSMISSION-TIME", "yesterday"),
        ("PAYPAL-TRANSMISSION-ID", "a|b"),
        ("PAYPAL-TRANSMISSION-ID", ""),
    ],
)
def test_malformed_header(header: str, value: str) -> None:
    fetch = fetcher()
    with pytest.raises(MalformedHeader, match=header):
        verifier(fetch).verify(Delivery(BODY, {**headers(), header: value}))
    assert fetch.calls == []


def test_no_tolerance_by_default_and_stale_transmissions_refused_when_set() -> None:
    old = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_accepts(verifier(), Delivery(BODY, headers(time=old)))
    fetch = fetcher()
    with pytest.raises(TimestampOutOfTolerance):
        verifier(fetch, tolerance=600).verify(Delivery(BODY, headers(time=old)))
    assert fetch.calls == []
    assert_accepts(verifier(tolerance=600), Delivery(BODY, headers()))


@pytest.mark.parametrize("trick", HOSTILE_URL_TRICKS)
def test_certificate_url_on_a_foreign_host_is_refused_without_a_request(trick: str) -> None:
    url = trick.format(host="api.paypal.com", path="/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270")
    fetch = FakeFetch({url: pem(LEAF.certificate)})
    with pytest.raises(CertificateRefused):
        verifier(fetch).verify(Delivery(BODY, headers(cert_url=url)))
    assert fetch.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "https://www.paypal.com/v1/notifications/certs/CERT-1",
        "https://paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/oauth2/token",
        "https://api.paypal.com/v1/notifications/certs/",
        "https://api.paypal.com/v1/notifications/certs/CERT-1/../../../oauth2",
        "https://evilpaypal.com/v1/notifications/certs/CERT-1",
    ],
)
def test_other_paypal_looking_urls_are_refused_without_a_request(url: str) -> None:
    fetch = FakeFetch({url: pem(LEAF.certificate)})
    with pytest.raises(CertificateRefused):
        verifier(fetch).verify(Delivery(BODY, headers(cert_url=url)))
    assert fetch.calls == []


def test_a_cache_hit_does_not_fetch_again() -> None:
    fetch = fetcher()
    paypal = verifier(fetch)
    for _ in range(3):
        assert_accepts(paypal, Delivery(BODY, headers()))
    assert fetch.calls == [CERT_URL]


@pytest.mark.parametrize(
    "leaf",
    [
        CA.leaf("messageverificationcerts.paypal.com", not_after=NOW - timedelta(days=1)),
        CA.leaf("messageverificationcerts.paypal.com", not_before=NOW + timedelta(days=1)),
        CA.leaf("messageverificationcerts.paypal.com.evil.example"),
        CA.leaf("api.paypal.co"),
    ],
    ids=["expired", "not-yet-valid", "foreign-name", "lookalike-name"],
)
def test_untrustworthy_certificates_are_refused(leaf: object) -> None:
    document = pem(leaf.certificate)  # type: ignore[attr-defined]
    with pytest.raises(CertificateRefused):
        verifier(fetcher(document)).verify(Delivery(BODY, headers(leaf=leaf)))


def test_a_certificate_without_an_rsa_key_is_refused() -> None:
    leaf = CA.leaf("messageverificationcerts.paypal.com", key=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(CertificateRefused, match="RSA"):
        verifier(fetcher(pem(leaf.certificate))).verify(Delivery(BODY, headers()))


def test_a_failed_download_is_a_refusal() -> None:
    fetch = FakeFetch()
    with pytest.raises(CertificateRefused, match="download"):
        verifier(fetch).verify(Delivery(BODY, headers()))
    assert fetch.calls == [CERT_URL]


def test_pinned_ca_file(tmp_path: object) -> None:
    from pathlib import Path

    pinned = Path(str(tmp_path)) / "paypal-ca.pem"
    pinned.write_bytes(pem(CA.certificate))
    assert_accepts(verifier(ca_file=str(pinned)), Delivery(BODY, headers()))
    stranger = Authority.root("someone else's CA").leaf("messageverificationcerts.paypal.com")
    with pytest.raises(CertificateRefused, match="chain"):
        verifier(fetcher(pem(stranger.certificate)), ca_file=str(pinned)).verify(
            Delivery(BODY, headers(leaf=stranger))
        )


def test_sign_is_not_supported() -> None:
    with pytest.raises(SigningNotSupported):
        verifier().sign(BODY)


def test_delivery_id_and_event_type() -> None:
    delivery = Delivery(BODY, {})
    assert verifier().delivery_id(delivery) == "WH-58D329510W468432D-8HN650336L201105X"
    assert verifier().event_type(delivery) == "PAYMENT.CAPTURE.COMPLETED"


header_values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["SHA256withRSA", TRANSMISSION_TIME, TRANSMISSION_ID, CERT_URL, "AAAA", "https://"]),
)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=64),
    random_headers=st.dictionaries(
        st.sampled_from(
            [
                "PAYPAL-TRANSMISSION-ID",
                "PAYPAL-TRANSMISSION-TIME",
                "PAYPAL-TRANSMISSION-SIG",
                "PAYPAL-CERT-URL",
                "PAYPAL-AUTH-ALGO",
                "X-Other",
            ]
        ),
        header_values,
    ),
)
def test_random_deliveries_are_refused_cleanly(body: bytes, random_headers: dict[str, str]) -> None:
    fetch = fetcher()
    with pytest.raises(VerificationError):
        verifier(fetch).verify(Delivery(body, random_headers))
    assert set(fetch.calls) <= {CERT_URL}
