"""Allowlists and rate limits through a real uvicorn server (the peer is 127.0.0.1)."""

from __future__ import annotations

import httpx

from tests.helpers import github_headers, write_config

LIMITED = """
[sources.guarded]
provider = "github"
secret = "It's a Secret to Everybody"
allowed_ips = ["192.30.252.0/22"]

[sources.proxied]
provider = "github"
secret = "It's a Secret to Everybody"
allowed_ips = ["192.30.252.0/22"]

[sources.limited]
provider = "github"
secret = "It's a Secret to Everybody"
rate_limit = "2/m"
"""


def test_allowlist_and_trusted_proxies(tmp_path, redis_url, start_gateway):
    config = write_config(tmp_path, LIMITED)
    body = b"{}"
    direct = start_gateway(redis_url, config=config)
    spoofed = {**github_headers(body), "X-Forwarded-For": "192.30.252.7"}
    # Without trusted proxies the peer (127.0.0.1) counts and X-Forwarded-For is ignored.
    assert httpx.post(f"{direct.url}/webhooks/guarded", content=body, headers=spoofed).status_code == 403

    proxied = start_gateway(
        redis_url, config=config, env={"HOOKGATE_GATEWAY__TRUSTED_PROXIES": '["127.0.0.0/8"]'}
    )
    allowed = {**github_headers(body), "X-Forwarded-For": "6.6.6.6, 192.30.252.7"}
    refused = {**github_headers(body), "X-Forwarded-For": "192.30.252.7, 6.6.6.6"}
    assert httpx.post(f"{proxied.url}/webhooks/proxied", content=body, headers=allowed).status_code == 202
    assert httpx.post(f"{proxied.url}/webhooks/proxied", content=body, headers=refused).status_code == 403
    metrics = httpx.get(f"{proxied.url}/metrics").text
    assert 'hookgate_deliveries_total{outcome="forbidden",source="proxied"} 1.0' in metrics


def test_rate_limit_is_shared_and_answers_retry_after(tmp_path, redis_url, start_gateway):
    config = write_config(tmp_path, LIMITED)
    first, second = start_gateway(redis_url, config=config), start_gateway(redis_url, config=config)
    body = b"{}"
    statuses = [
        httpx.post(f"{gateway.url}/webhooks/limited", content=body, headers=github_headers(body)).status_code
        for gateway in (first, second, first, second)
    ]
    assert statuses == [202, 202, 429, 429], "two gateway processes share one budget"
    limited = httpx.post(f"{first.url}/webhooks/limited", content=body, headers=github_headers(body))
    assert 1 <= int(limited.headers["retry-after"]) <= 60
