"""Properties over random input for the newer providers: only VerificationError escapes verify()."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import Delivery, VerificationError
from tests.signatures.assertions import assert_accepts

NOW = 1_700_000_000
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ED25519_KEY = (
    ed25519.Ed25519PrivateKey.generate()
    .public_key()
    .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    .hex()
)
P256_KEY = base64.b64encode(
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()
CONFIGS: dict[str, tuple[str, dict[str, str]]] = {
    "clerk": (SECRET, {}),
    "resend": (SECRET, {}),
    "intercom": (SECRET, {}),
    "typeform": (SECRET, {}),
    "linear": (SECRET, {}),
    "mux": (SECRET, {}),
    "pagerduty": (SECRET, {}),
    "twitch": (SECRET, {}),
    "mailgun": (SECRET, {}),
    "okta": (SECRET, {}),
    "basic-auth": (SECRET, {"username": "user"}),
    "token": (SECRET, {"header": "X-Token", "prefix": "Bearer "}),
    "discord": (ED25519_KEY, {}),
    "sendgrid": (P256_KEY, {}),
}
SIGNING = sorted(set(CONFIGS) - {"discord", "sendgrid", "mailgun"})
HEADERS = [
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "X-Hub-Signature",
    "Typeform-Signature",
    "Linear-Signature",
    "Linear-Timestamp",
    "Mux-Signature",
    "X-PagerDuty-Signature",
    "Twitch-Eventsub-Message-Id",
    "Twitch-Eventsub-Message-Timestamp",
    "Twitch-Eventsub-Message-Signature",
    "Authorization",
    "X-Token",
    "X-Signature-Ed25519",
    "X-Signature-Timestamp",
    "X-Twilio-Email-Event-Webhook-Signature",
    "X-Twilio-Email-Event-Webhook-Timestamp",
]
header_values = st.one_of(
    st.text(),
    st.sampled_from(
        ["sha256=", "sha1=", "t=", "v1=", "v1,", "Basic ", "Bearer ", str(NOW), "2023-11-14T22:13:20"]
    ).flatmap(
        lambda prefix: st.text(alphabet="0123456789abcdefABCDEF+/=,.:TZ ").map(lambda tail: prefix + tail)
    ),
)
bodies = st.one_of(
    st.binary(),
    st.text().map(str.encode),
    st.just(b'{"signature": {"timestamp": "1700000000", "token": "t", "signature": "00"}}'),
    st.just(b'{"type": 1, "webhookTimestamp": 1700000000000, "event": {"type": "X"}}'),
)


def build(name: str, secret: str | None = None) -> signatures.Verifier:
    default, config = CONFIGS[name]
    return signatures.build(name, [secret or default], clock=lambda: float(NOW), **config)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@settings(max_examples=200, deadline=None)
@given(
    body=bodies,
    headers=st.dictionaries(st.one_of(st.sampled_from(HEADERS), st.text()), header_values),
    method=st.sampled_from(["POST", "GET"]),
)
def test_random_deliveries_are_refused_cleanly(
    name: str, body: bytes, headers: dict[str, str], method: str
) -> None:
    verifier = build(name)
    delivery = Delivery(body, headers, method=method)
    with pytest.raises(VerificationError):
        verifier.verify(delivery)
    for found in (verifier.delivery_id(delivery), verifier.event_type(delivery)):
        assert found is None or isinstance(found, str)
    verifier.handshake(delivery)


@pytest.mark.parametrize("name", SIGNING)
@settings(max_examples=50, deadline=None)
@given(body=bodies, delivery_id=st.text(min_size=1), offset=st.integers(-60, 60))
def test_sign_round_trips_only_under_the_same_secret(
    name: str, body: bytes, delivery_id: str, offset: int
) -> None:
    signed = build(name).sign(body, timestamp=NOW + offset, delivery_id=delivery_id)
    assert_accepts(build(name), Delivery(body, signed))
    with pytest.raises(VerificationError):
        build(name, "whsec_b3RoZXIga2V5").verify(Delivery(body, signed))
