"""Hypothesis against the receiver of every provider, Redis up: signed and unsigned deliveries with odd
bodies (binary, deep nesting, lone surrogate escapes, long ids and types), odd headers and odd paths.
Never a 5xx; a signed delivery is stored (202/200, or the handshake's answer) or refused with a 4xx
problem that says why. Seeded; ``FUZZ_SCALE`` scales the examples (``make fuzz``)."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

import signatures
from gateway.config import Settings
from gateway.ingest.sources import build_sources
from gateway.operate.samples import signed_sample
from gateway.processes.app import create_app
from tests.integration.test_providers import DISCORD_KEY, SENDGRID_KEY, SOURCES, TELNYX_KEY
from tests.signatures.pki import Authority, FakeFetch, pem

EXAMPLES = int(os.environ.get("FUZZ_SCALE", "1")) * 40
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # report the failing example as found: shrinking took minutes
)
BASE = "http://testserver.local"

# PayPal and SNS name their signing certificate by URL: the fuzzed gateway fetches it from this fake.
_CA, _TODAY = Authority.root(), datetime.now(UTC)
PAYPAL_LEAF, SNS_LEAF = (
    _CA.leaf(name, not_before=_TODAY - timedelta(days=1), not_after=_TODAY + timedelta(days=2))
    for name in ("messageverificationcerts.paypal.com", "sns.amazonaws.com")
)
PAYPAL_CERT = "https://api.paypal.com/v1/notifications/certs/CERT-fuzz"
SNS_CERT = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-fuzz.pem"
OFFLINE = {
    "fetch": FakeFetch({PAYPAL_CERT: pem(PAYPAL_LEAF.certificate), SNS_CERT: pem(SNS_LEAF.certificate)})
}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    offline = {"paypal": OFFLINE, "aws-sns": OFFLINE}
    return {
        "sources": {
            f"p-{name}": {"provider": name, **keys, **offline.get(name, {})} for name, keys in SOURCES.items()
        }
    }


@pytest.fixture
def gateway(redis_url: str, config: dict[str, Any]):
    settings_ = Settings.model_validate({"redis": {"url": redis_url}, **config})
    sources = build_sources(settings_)
    with TestClient(create_app(settings_, sources=sources), base_url=BASE) as client:
        yield client, sources


# Text that trips decoders: lone surrogate escapes, control characters, long runs, non-ASCII.
odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\\ud800", "evt_\\udfff", "\x00", "a" * 300, "é" * 100, "../../x", "%00", "*"]),
    st.integers(min_value=300, max_value=5000).map(lambda n: "x" * n),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(odd_text, children, max_size=4),
    max_leaves=12,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "binary", "nested", "escapes", "empty", "form"]))
    if kind == "binary":
        return draw(st.binary(max_size=512))
    if kind == "nested":
        depth = draw(st.integers(min_value=100, max_value=30_000))
        return b"[" * depth + b"]" * depth
    if kind == "empty":
        return b""
    if kind == "form":
        return draw(st.sampled_from([b"a=1&b=%ff", b"payload=%7B%22type%22%3A1%7D", b"&&=="]))
    document = {
        "id": draw(odd_text),
        "type": draw(odd_text | st.integers() | st.lists(st.integers(), max_size=2)),
        "event": {"type": draw(odd_text), "id": draw(odd_text)},
        "event_type": draw(odd_text),
        "data": draw(json_values),
    }
    text = json.dumps(document, ensure_ascii=True)
    if kind == "escapes":  # JSON escapes that are not valid text, where locators look
        text = text.replace('"id": "', '"id": "\\ud800', 1).replace('"type": "', '"type": "\\udc00', 1)
    return text.encode()


header_names = st.sampled_from(
    ["content-type", "x-github-event", "x-github-delivery", "x-request-id", "user-agent", "x-forwarded-for"]
) | st.from_regex(r"x-[a-z0-9-]{1,20}", fullmatch=True)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=300).map(
    lambda text: text.encode("latin-1")
)


def _sign(
    source: Any, provider: str, url: str, body: bytes, delivery_id: str, event_type: str
) -> tuple[str, bytes, dict[str, str]]:
    """What a genuine sender would send: the body and its headers (the test holds the private keys for
    discord, sendgrid and telnyx; mailgun signs inside a JSON body it builds around the event)."""
    if provider == "mailgun":
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):
            event = {"raw": body.decode("latin-1")}
        event = event if isinstance(event, dict) else {"value": event}
        return url, source.verifier.sign_body({**event, "id": delivery_id, "event": event_type}), {}
    if provider == "discord":
        timestamp = str(int(time.time()))
        return (
            url,
            body,
            {
                "X-Signature-Ed25519": DISCORD_KEY.sign(timestamp.encode() + body).hex(),
                "X-Signature-Timestamp": timestamp,
            },
        )
    if provider == "telnyx":
        import base64

        timestamp = str(int(time.time()))
        signature = TELNYX_KEY.sign(f"{timestamp}|".encode() + body)
        return (
            url,
            body,
            {"telnyx-signature-ed25519": base64.b64encode(signature).decode(), "telnyx-timestamp": timestamp},
        )
    if provider == "sendgrid":
        import base64

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        timestamp = str(int(time.time()))
        signature = SENDGRID_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return (
            url,
            body,
            {
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            },
        )
    if provider in ("paypal", "aws-sns"):
        return _sign_with_certificate(provider, url, body, delivery_id)
    sample = signed_sample(source, url, event_type=event_type, delivery_id=delivery_id, body=body)
    return sample.url, body, sample.headers  # twilio signs a JSON body's hash in the URL


def _sign_with_certificate(
    provider: str, url: str, body: bytes, delivery_id: str
) -> tuple[str, bytes, dict[str, str]]:
    """PayPal's headers over the body, or an SNS notification carrying the body as its Message."""
    from signatures.providers.aws_sns import string_to_sign
    from signatures.providers.paypal import signed_string

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if provider == "paypal":
        transmission = "69cd13f0-d67a-11e5-baa3-778b53f4ae55"
        webhook_id = str(SOURCES["paypal"]["secret"])
        return (
            url,
            body,
            {
                "PAYPAL-TRANSMISSION-ID": transmission,
                "PAYPAL-TRANSMISSION-TIME": now,
                "PAYPAL-TRANSMISSION-SIG": PAYPAL_LEAF.sign(
                    signed_string(transmission, now, webhook_id, body)
                ),
                "PAYPAL-CERT-URL": PAYPAL_CERT,
                "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            },
        )
    message = {
        "Type": "Notification",
        "MessageId": delivery_id,
        "TopicArn": str(SOURCES["aws-sns"]["secret"]),
        "Message": body.decode("latin-1"),
        "Timestamp": now,
        "SignatureVersion": "2",
        "SigningCertURL": SNS_CERT,
    }
    message["Signature"] = SNS_LEAF.sign(string_to_sign(message))
    return url, json.dumps(message).encode(), {}


def _problem(answer: Any) -> None:
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text[:200]
    assert answer.json()["detail"], "a refusal says why"


def test_every_registered_provider_is_fuzzed() -> None:
    # The fuzzed providers are the registry's, not a list kept here: a provider without a source in
    # tests/integration/test_providers.py fails its fuzz test instead of going unfuzzed.
    assert sorted(SOURCES) == signatures.provider_names()


@pytest.mark.parametrize("provider", signatures.provider_names())
def test_signed_deliveries_are_stored_or_refused_with_a_reason(gateway, provider: str) -> None:
    client, sources = gateway
    source = sources[f"p-{provider}"]
    url = f"{BASE}/webhooks/p-{provider}"

    @FUZZ
    @given(
        body=bodies(),
        delivery_id=st.from_regex(r"[A-Za-z0-9._-]{1,300}", fullmatch=True),
        event_type=st.from_regex(r"[a-z._/-]{1,300}", fullmatch=True),
        extra=st.dictionaries(header_names, header_values, max_size=4),
    )
    def deliver(body: bytes, delivery_id: str, event_type: str, extra: dict[str, str]) -> None:
        target, body, signed = _sign(source, provider, url, body, delivery_id, event_type)
        headers = {
            **{k: v for k, v in extra.items() if k.lower() not in {h.lower() for h in signed}},
            **signed,
        }
        answer = client.post(target, content=body, headers=headers)
        seen[answer.status_code] += 1
        assert answer.status_code < 500, (answer.status_code, answer.text[:300])
        if answer.status_code >= 400:
            _problem(answer)
            # A genuine delivery is refused only for what the sender can fix: size, or a body the provider's
            # own scheme cannot carry (a signature over the body hash of a different body is impossible).
            assert answer.status_code in (401, 413), (answer.status_code, answer.text[:300])

    seen: Counter[int] = Counter()
    deliver()
    assert sum(n for status, n in seen.items() if status < 300) > EXAMPLES / 2, f"few stored: {dict(seen)}"


@given(
    provider=st.sampled_from(signatures.provider_names()),
    body=bodies(),
    headers=st.dictionaries(header_names, header_values, max_size=6),
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]),
    suffix=st.sampled_from(["", "/", "x", "/../x", "%00", "?a=%ff", "/%2e%2e"]),
)
@FUZZ
def test_unsigned_and_forged_deliveries_never_answer_5xx(
    gateway, provider, body, headers, method, suffix
) -> None:
    client, _ = gateway
    forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64, "Stripe-Signature": "t=1,v1=00"}
    answer = client.request(method, f"{BASE}/webhooks/p-{provider}{suffix}", content=body, headers=forged)
    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        _problem(answer)
