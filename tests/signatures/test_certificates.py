"""The certificate core: URLs rebuilt from checked parts, the cache's expiry, bound and download budget,
CA pinning through a served intermediate, and the HTTPS download (no redirects, a size cap)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from signatures import CertificateRefused
from signatures.certificates import CertificateCache, CertificateRule, UrlRule, fetch_https
from tests.signatures.pki import NOW, Authority, FakeFetch, pem

RULE = CertificateRule(
    UrlRule(hosts=re.compile(r"certs\.provider\.example"), path=re.compile(r"/[a-z0-9-]+\.pem")),
    names=re.compile(r"signing\.provider\.example"),
)
CA = Authority.root()
LEAF = CA.leaf("signing.provider.example")


def url(n: int = 1) -> str:
    return f"https://certs.provider.example/cert-{n}.pem"


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


def test_the_url_fetched_is_rebuilt_from_the_checked_parts() -> None:
    assert RULE.url.check("https://certs.provider.example:443/cert-1.pem") == url()
    assert RULE.url.check("https://CERTS.provider.example/cert-1.pem") is None
    assert RULE.url.check(None) is None
    query_rule = UrlRule(hosts=re.compile(r"h\.example"), path=re.compile(r"/?"), query=True)
    assert (
        query_rule.check("https://h.example/?Action=Confirm&Token=ab12")
        == "https://h.example/?Action=Confirm&Token=ab12"
    )
    assert query_rule.check("https://h.example/?a=<script>") is None


def test_an_expired_entry_is_fetched_again_and_refused() -> None:
    clock = Clock()
    short = CA.leaf("signing.provider.example", not_after=NOW + timedelta(hours=1))
    fetch = FakeFetch({url(): pem(short.certificate)})
    cache = CertificateCache(RULE, clock=clock, fetch=fetch)
    cache.public_key(url())
    cache.public_key(url())
    assert fetch.calls == [url()]
    clock.now += 2 * 3600
    with pytest.raises(CertificateRefused, match="expired"):
        cache.public_key(url())
    assert fetch.calls == [url(), url()]


def test_the_cache_is_bounded() -> None:
    fetch = FakeFetch({url(n): pem(LEAF.certificate) for n in range(5)})
    cache = CertificateCache(RULE, clock=Clock(), fetch=fetch, max_entries=2)
    for n in (0, 1, 2, 0):
        cache.public_key(url(n))
    assert fetch.calls == [url(0), url(1), url(2), url(0)]


def test_downloads_are_budgeted_per_minute() -> None:
    clock = Clock()
    fetch = FakeFetch({url(n): pem(LEAF.certificate) for n in range(20)})
    cache = CertificateCache(RULE, clock=clock, fetch=fetch, fetches_per_minute=3)
    for n in range(3):
        cache.public_key(url(n))
    with pytest.raises(CertificateRefused, match="too many"):
        cache.public_key(url(3))
    assert len(fetch.calls) == 3
    cache.public_key(url(0))  # a hit spends nothing
    clock.now += 61
    cache.public_key(url(3))
    assert len(fetch.calls) == 4


def test_a_pinned_ca_is_reached_through_an_intermediate_served_with_the_leaf() -> None:
    intermediate = CA.intermediate()
    leaf = intermediate.leaf("signing.provider.example")
    fetch = FakeFetch(
        {url(1): pem(leaf.certificate, intermediate.certificate), url(2): pem(leaf.certificate)}
    )
    cache = CertificateCache(RULE, clock=Clock(), fetch=fetch, anchors=[CA.certificate])
    cache.public_key(url(1))
    with pytest.raises(CertificateRefused, match="chain"):
        cache.public_key(url(2))  # the intermediate is missing


def test_a_leaf_cannot_pose_as_a_ca() -> None:
    impostor = LEAF.certificate
    fake_leaf = Authority(LEAF.key, impostor).leaf("signing.provider.example")  # type: ignore[arg-type]
    fetch = FakeFetch({url(): pem(fake_leaf.certificate, impostor)})
    cache = CertificateCache(RULE, clock=Clock(), fetch=fetch, anchors=[CA.certificate])
    with pytest.raises(CertificateRefused, match="chain"):
        cache.public_key(url())


def test_garbage_is_not_a_certificate() -> None:
    cache = CertificateCache(RULE, clock=Clock(), fetch=FakeFetch({url(): b"<html>hello</html>"}))
    with pytest.raises(CertificateRefused, match="PEM"):
        cache.public_key(url())


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path == "/redirect.pem":
            self.send_response(302)
            self.send_header("Location", "/target.pem")
            self.end_headers()
            return
        body = pem(LEAF.certificate) * (200 if self.path == "/huge.pem" else 1)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def loopback() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_download_follows_no_redirect(loopback: str) -> None:
    with pytest.raises(OSError, match="302"):
        fetch_https(f"{loopback}/redirect.pem")
    assert _Handler.hits == ["/redirect.pem"]


def test_the_download_is_capped(loopback: str) -> None:
    assert fetch_https(f"{loopback}/leaf.pem") == pem(LEAF.certificate)
    with pytest.raises(OSError, match="too large"):
        fetch_https(f"{loopback}/huge.pem")
