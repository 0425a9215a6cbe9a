"""Every provider end to end: `hookgate send-test` signs a sample the running gateway must accept,
and the handshakes senders need are answered as they require. One gateway serves the whole module: each
test posts to its own sources, and none needs the database to itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

import signatures
from gateway.processes.dev import EmbeddedRedis
from gateway.store import keys
from tests.helpers import Gateway, cli, launch_gateway, write_config

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DISCORD_KEY = ed25519.Ed25519PrivateKey.generate()
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
TELNYX_KEY = ed25519.Ed25519PrivateKey.generate()
TELNYX_PUBLIC = base64.b64encode(
    TELNYX_KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()


def _public(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


#: One source per provider, named after it.
SOURCES: dict[str, dict[str, object]] = {
    "github": {"secret": "gh-secret"},
    "stripe": {"secret": "whsec_stripe"},
    "standard-webhooks": {"secret": WHSEC},
    "svix": {"secret": WHSEC},
    "clerk": {"secret": WHSEC},
    "resend": {"secret": WHSEC},
    "slack": {"secret": "slack-signing-secret"},
    "shopify": {"secret": "shopify-secret"},
    "twilio": {"secret": "twilio-auth-token"},
    "gitlab": {"secret": "gitlab-token"},
    "paddle": {"secret": "pdl_ntfset_secret"},
    "square": {"secret": "square-signature-key"},
    "zoom": {"secret": "zoom-secret-token"},
    "mailgun": {"secret": "mailgun-signing-key"},
    "sendgrid": {"secret": _public(SENDGRID_KEY)},
    "discord": {"secret": _public(DISCORD_KEY)},
    "linear": {"secret": "linear-secret"},
    "intercom": {"secret": "intercom-client-secret"},
    "typeform": {"secret": "typeform-secret"},
    "hubspot": {"secret": "hubspot-client-secret"},
    "mux": {"secret": "mux-secret"},
    "pagerduty": {"secret": "pagerduty-secret"},
    "twitch": {"secret": "twitch-secret"},
    "okta": {"secret": "okta-shared-secret"},
    "basic-auth": {"secret": "postmark-password", "username": "postmark"},
    "token": {"secret": "shared-token", "header": "X-Webhook-Token"},
    "hmac": {"secret": "partner-secret", "header": "X-Partner-Signature", "prefix": "sha256="},
    "paypal": {"secret": "1JE4291016473214C"},
    "aws-sns": {"secret": "arn:aws:sns:us-east-1:123456789012:hookgate"},
    "docusign": {"secret": "W3tLT0L6Zc4cEuMGYWqS4rlL+3NRPrhaV8FBkx6DeuQ="},
    "xero": {"secret": "xero-webhook-key"},
    "asana": {"secret": "asana-hook-secret"},
    "jira": {"secret": "jira-secret"},
    "netlify": {"secret": "netlify-jws-secret"},
    "adyen": {"secret": "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"},
    "razorpay": {"secret": "razorpay-webhook-secret"},
    "gocardless": {"secret": "gocardless-endpoint-secret"},
    "telnyx": {"secret": TELNYX_PUBLIC},
    "woocommerce": {"secret": "woocommerce-secret"},
    "zendesk": {"secret": "zendesk-signing-secret"},
    "vercel": {"secret": "vercel-webhook-secret"},
    "airtable": {"secret": base64.b64encode(b"airtable-mac-secret").decode()},
    "trello": {"secret": "trello-oauth-secret"},
    "meta": {"secret": "meta-app-secret", "verify_token": "meta-verify-token"},
    "bitbucket": {"secret": "bitbucket-secret"},
    "sentry": {"secret": "sentry-client-secret"},
    "calendly": {"secret": "calendly-signing-key"},
}


def provider_config() -> str:
    tables = []
    for name, keys_ in SOURCES.items():
        lines = [f"[sources.p-{name}]", f'provider = "{name}"'] + [
            f"{k} = {json.dumps(v)}" for k, v in keys_.items()
        ]
        tables.append("\n".join(lines))
    return "\n\n" + "\n\n".join(tables) + "\n"


def test_every_registered_provider_is_covered_here():
    assert set(SOURCES) == set(signatures.provider_names())


@pytest.fixture(scope="module")
def module_redis_url(redis_server: EmbeddedRedis) -> str:
    """A clean database on the session's redis-server, for this module's tests together."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, module_redis_url: str
) -> Iterator[tuple[Gateway, Path]]:
    folder = tmp_path_factory.mktemp("providers")
    config = write_config(folder, provider_config())
    server = launch_gateway(module_redis_url, config, folder)
    yield server, config
    server.stop()


def test_send_test_signs_what_the_gateway_accepts_for_every_provider(gateway, module_redis_url):
    server, config = gateway
    client = redis.Redis.from_url(module_redis_url)
    for source in SOURCES:
        name = f"p-{source}"
        result = cli("send-test", name, "--config", str(config), "--url", server.url)
        if source in ("discord", "sendgrid", "paypal", "aws-sns", "telnyx"):
            assert result.returncode == 2, result.stdout + result.stderr
            assert "private key" in result.stderr
            continue
        assert result.returncode == 0, f"{source}: {result.stdout}{result.stderr}"
        if source == "xero":  # every verified delivery is answered 200 with no body, as Xero requires
            assert result.stdout.splitlines()[-1] == "200 "
            assert client.zcard(keys.source_index(name)) >= 1
            continue
        if source == "airtable":  # every notification is answered 204 with no body, as Airtable asks
            assert result.stdout.splitlines()[-1] == "204 "
            assert client.zcard(keys.source_index(name)) >= 1
            continue
        event_id = json.loads(result.stdout.splitlines()[-1].split(" ", 1)[1])["event_id"]
        assert client.hget(keys.event(event_id), "source") == name.encode()


def test_credential_headers_are_stored_redacted(gateway, module_redis_url):
    server, _ = gateway
    response = httpx.post(
        f"{server.url}/webhooks/p-token", content=b"{}", headers={"X-Webhook-Token": "shared-token"}
    )
    assert response.status_code == 202
    stored = redis.Redis.from_url(module_redis_url).hget(keys.event(response.json()["event_id"]), "headers")
    assert ["x-webhook-token", "[redacted]"] in json.loads(stored)
    assert b"shared-token" not in stored


def test_slack_url_verification_is_answered_with_the_challenge(gateway):
    server, _ = gateway
    body = json.dumps(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "token": "x",
        }
    ).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(b"slack-signing-secret", f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }
    response = httpx.post(f"{server.url}/webhooks/p-slack", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    assert httpx.post(f"{server.url}/webhooks/p-slack", content=body, headers=forged).status_code == 401


def test_zoom_url_validation_returns_the_encrypted_token(gateway):
    server, _ = gateway
    body = json.dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    ).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(b"zoom-secret-token", f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"x-zm-request-timestamp": timestamp, "x-zm-signature": f"v0={digest}"}
    response = httpx.post(f"{server.url}/webhooks/p-zoom", content=body, headers=headers)
    assert response.status_code == 200
    expected = hmac.new(b"zoom-secret-token", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}


def test_discord_pings_are_answered_after_ed25519_verification(gateway):
    server, _ = gateway
    for body, status, answer in (
        (b'{"type": 1, "id": "i-1"}', 200, b'{"type": 1}'),
        (b'{"type": 0, "version": 1}', 204, b""),
    ):
        timestamp = str(int(time.time()))
        signature = DISCORD_KEY.sign(timestamp.encode() + body).hex()
        headers = {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp}
        response = httpx.post(f"{server.url}/webhooks/p-discord", content=body, headers=headers)
        assert response.status_code == status
        assert response.content.replace(b" ", b"") == answer.replace(b" ", b"")
    bad = {"X-Signature-Ed25519": "00" * 64, "X-Signature-Timestamp": str(int(time.time()))}
    assert (
        httpx.post(f"{server.url}/webhooks/p-discord", content=b'{"type": 1}', headers=bad).status_code == 401
    )


def test_twitch_callback_verification_echoes_the_challenge_as_text(gateway):
    server, _ = gateway
    body = json.dumps(
        {"challenge": "pogchamp-kappa-360noscope-vohiyo", "subscription": {"type": "channel.follow"}}
    ).encode()
    message_id, timestamp = (
        "e76c6bd4-55c9-4987-8304-da1588d8988b",
        time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
    )
    digest = hmac.new(
        b"twitch-secret", message_id.encode() + timestamp.encode() + body, hashlib.sha256
    ).hexdigest()
    headers = {
        "Twitch-Eventsub-Message-Id": message_id,
        "Twitch-Eventsub-Message-Timestamp": timestamp,
        "Twitch-Eventsub-Message-Signature": f"sha256={digest}",
        "Twitch-Eventsub-Message-Type": "webhook_callback_verification",
        "Twitch-Eventsub-Subscription-Type": "channel.follow",
    }
    response = httpx.post(f"{server.url}/webhooks/p-twitch", content=body, headers=headers)
    assert response.status_code == 200
    assert response.text == "pogchamp-kappa-360noscope-vohiyo"
    assert response.headers["content-type"].startswith("text/plain")


def test_okta_one_time_verification_get(gateway):
    server, _ = gateway
    challenge = {"X-Okta-Verification-Challenge": "fQwWCyUfUvf6sGm8eGfxaWjLNtYdYE2LHMoIRaZO"}
    response = httpx.get(
        f"{server.url}/webhooks/p-okta", headers={**challenge, "Authorization": "okta-shared-secret"}
    )
    assert response.status_code == 200
    assert response.json() == {"verification": "fQwWCyUfUvf6sGm8eGfxaWjLNtYdYE2LHMoIRaZO"}
    refused = httpx.get(f"{server.url}/webhooks/p-okta", headers={**challenge, "Authorization": "wrong"})
    assert refused.status_code == 401


def test_trello_creation_head_gets_200_and_nothing_is_stored(gateway, module_redis_url):
    server, _ = gateway
    before = redis.Redis.from_url(module_redis_url).zcard(keys.INDEX_ALL)
    assert httpx.head(f"{server.url}/webhooks/p-trello").status_code == 200
    assert httpx.head(f"{server.url}/webhooks/p-okta").status_code == 405, "only where the provider asks"
    assert redis.Redis.from_url(module_redis_url).zcard(keys.INDEX_ALL) == before


def test_xero_intent_to_receive_gets_200_with_no_body_or_401(gateway, module_redis_url):
    server, _ = gateway
    body = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
    good = base64.b64encode(hmac.new(b"xero-webhook-key", body, hashlib.sha256).digest()).decode()
    client = redis.Redis.from_url(module_redis_url)
    before = client.zcard(keys.source_index("p-xero"))
    response = httpx.post(f"{server.url}/webhooks/p-xero", content=body, headers={"x-xero-signature": good})
    assert (response.status_code, response.content) == (200, b"")
    assert client.zcard(keys.source_index("p-xero")) == before, "no events: not stored"
    bad = base64.b64encode(hmac.new(b"not-the-key", body, hashlib.sha256).digest()).decode()
    response = httpx.post(f"{server.url}/webhooks/p-xero", content=body, headers={"x-xero-signature": bad})
    assert response.status_code == 401


def test_asana_handshake_echoes_the_secret_and_stores_nothing(gateway, module_redis_url):
    server, _ = gateway
    secret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
    client = redis.Redis.from_url(module_redis_url)
    before = client.zcard(keys.INDEX_ALL)
    response = httpx.post(f"{server.url}/webhooks/p-asana", content=b"", headers={"X-Hook-Secret": secret})
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["x-hook-secret"] == secret
    assert client.zcard(keys.INDEX_ALL) == before
    smuggled = httpx.post(
        f"{server.url}/webhooks/p-asana",
        content=b'{"events": [{"action": "added"}]}',
        headers={"X-Hook-Secret": secret},
    )
    assert smuggled.status_code == 401


def test_meta_verification_get_is_answered_with_the_challenge(gateway, module_redis_url):
    server, _ = gateway
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meta-verify-token"}
    client = redis.Redis.from_url(module_redis_url)
    before = client.zcard(keys.source_index("p-meta"))
    response = httpx.get(f"{server.url}/webhooks/p-meta", params=params)
    assert (response.status_code, response.text) == (200, "1158201444")
    assert response.headers["content-type"].startswith("text/plain")
    guessed = httpx.get(f"{server.url}/webhooks/p-meta", params={**params, "hub.verify_token": "guess"})
    assert guessed.status_code == 401
    assert client.zcard(keys.source_index("p-meta")) == before, "nothing stored"


def test_woocommerce_activation_ping_gets_200_and_nothing_else_goes_unsigned(gateway, module_redis_url):
    server, _ = gateway
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    client = redis.Redis.from_url(module_redis_url)
    before = client.zcard(keys.source_index("p-woocommerce"))
    ping = httpx.post(f"{server.url}/webhooks/p-woocommerce", content=b"webhook_id=3", headers=form)
    assert ping.status_code == 200
    unsigned = httpx.post(f"{server.url}/webhooks/p-woocommerce", content=b"webhook_id=3&x=1", headers=form)
    assert unsigned.status_code == 401
    assert client.zcard(keys.source_index("p-woocommerce")) == before, "the unsigned ping is not stored"


def test_telnyx_deliveries_signed_with_the_account_key_are_stored(gateway, module_redis_url):
    server, _ = gateway
    body = json.dumps({"data": {"event_type": "message.received", "id": "b301ed3f", "payload": {}}}).encode()
    timestamp = str(int(time.time()))
    signature = TELNYX_KEY.sign(f"{timestamp}|".encode() + body)
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": timestamp,
    }
    response = httpx.post(f"{server.url}/webhooks/p-telnyx", content=body, headers=headers)
    assert response.status_code == 202
    stored = redis.Redis.from_url(module_redis_url).hgetall(keys.event(response.json()["event_id"]))
    assert stored[b"source"] == b"p-telnyx"
    forged = httpx.post(f"{server.url}/webhooks/p-telnyx", content=body + b" ", headers=headers)
    assert forged.status_code == 401
