"""IP allowlists behind trusted proxies, and per-source rate limits, in the order the contract sets."""

from __future__ import annotations

import ipaddress

import fakeredis
import pytest
from litestar.testing import TestClient

from gateway.config import RateLimit, Settings
from gateway.ingest.limits import ClientAddress
from gateway.processes.app import create_app
from tests.helpers import github_signature

SECRET = "It's a Secret to Everybody"


def sign(body: bytes, delivery: str = "d") -> dict[str, str]:
    return {
        "X-Hub-Signature-256": github_signature(body, SECRET),
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": "push",
    }


def app_with(gateway: dict | None = None, **source: object):
    settings = Settings.model_validate(
        {
            "redis": {"url": "redis://unused:1/0"},
            "gateway": {"max_body_bytes": 1024, **(gateway or {})},
            "sources": {"github": {"provider": "github", "secret": SECRET, **source}},
        }
    )
    return create_app(settings, client=fakeredis.FakeAsyncRedis())


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", [], "203.0.113.9"),  # no proxy: the peer
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # untrusted peer: its XFF is ignored
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),  # trusted proxy: the hop before it
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.0.0.3"], "198.51.100.1"),  # spoofed left part ignored
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # repeated headers read as one list
        ("10.0.0.2", ["not-an-ip"], None),
    ],
)
def test_client_address_believes_only_trusted_proxies(peer, forwarded, expected):
    resolved = ClientAddress(["10.0.0.0/8"]).resolve(peer, forwarded)
    assert resolved == (ipaddress.ip_address(expected) if expected else None)


@pytest.mark.parametrize("text", ["100/s", "5/m", "  7 / minute "])
def test_rates_parse(text):
    assert RateLimit.parse(text).limit >= 5


@pytest.mark.parametrize("text", ["100", "0/s", "10/h", "fast"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError, match="rate"):
        RateLimit.parse(text)


def test_an_address_outside_the_allowlist_gets_403_even_with_a_good_signature():
    app = app_with(allowed_ips=["192.30.252.0/22"])
    body = b"{}"
    with TestClient(app) as client:  # TestClient's peer is "testclient", not an address
        response = client.post("/webhooks/github", content=body, headers=sign(body))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_allowlist_is_checked_before_the_body_size():
    app = app_with(allowed_ips=["192.30.252.0/22"])
    with TestClient(app) as client:
        assert client.post("/webhooks/github", content=b"x" * 5000).status_code == 403


def test_rate_limit_answers_429_with_retry_after_before_checking_signatures():
    app = app_with(rate_limit="3/m")
    with TestClient(app) as client:
        statuses = [
            client.post("/webhooks/github", content=b"{}", headers=sign(b"{}", f"d{i}")).status_code
            for i in range(3)
        ]
        limited = client.post("/webhooks/github", content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
        too_big = client.post("/webhooks/github", content=b"x" * 5000)
    assert statuses == [202, 202, 202]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert too_big.status_code == 413, "size is checked before the rate, so oversized posts don't spend it"
