"""A provider that fetches a certificate (PayPal, SNS) verifies on a thread: a slow certificate host holds
up that one delivery, never the gateway's event loop and every other source's deliveries with it."""

from __future__ import annotations

import base64
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from litestar.testing import TestClient

from gateway.config import Settings
from gateway.processes.app import create_app
from signatures import certificates
from tests.helpers import GITHUB_SECRET, github_headers

CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270"


@pytest.fixture
def slow_certificates(monkeypatch):
    """A certificate host that answers only when told to (then with an error)."""
    entered, release = threading.Event(), threading.Event()

    def fetch(url: str) -> bytes:
        entered.set()
        release.wait(10)
        raise OSError("the certificate host did not answer")

    monkeypatch.setattr(certificates, "fetch_https", fetch)
    yield entered, release
    release.set()


def test_a_slow_certificate_fetch_holds_up_no_other_delivery(redis_url, slow_certificates):
    entered, release = slow_certificates
    settings = Settings.model_validate(
        {
            "redis": {"url": redis_url},
            "sources": {
                "github": {"provider": "github", "secret": GITHUB_SECRET},
                "paypal": {"provider": "paypal", "secret": "WH-0000000000000000X"},
            },
        }
    )
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    paypal_headers = {
        "PAYPAL-TRANSMISSION-ID": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        "PAYPAL-TRANSMISSION-TIME": now,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(b"\x01" * 256).decode(),
        "PAYPAL-CERT-URL": CERT_URL,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }
    answers: list[httpx.Response] = []
    with TestClient(create_app(settings)) as client:
        paypal = threading.Thread(
            target=lambda: answers.append(
                client.post("/webhooks/paypal", content=b'{"id": "WH-1"}', headers=paypal_headers)
            )
        )
        paypal.start()
        assert entered.wait(5), "the PayPal delivery reached its certificate fetch"
        started = time.monotonic()
        body = b'{"n": 1}'
        github = client.post("/webhooks/github", content=body, headers=github_headers(body))
        elapsed = time.monotonic() - started
        release.set()
        paypal.join(10)
    assert github.status_code == 202
    assert elapsed < 2, f"the GitHub delivery waited {elapsed:.1f} s behind a certificate fetch"
    [refused] = answers
    assert refused.status_code == 401
