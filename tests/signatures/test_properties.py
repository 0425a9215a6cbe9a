"""Properties over random input: only SignaturesError escapes, and nothing verifies without the secret."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signatures
from signatures import Delivery, VerificationError
from tests.signatures.assertions import assert_accepts

NOW = 1_700_000_000
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CONFIGS: dict[str, dict[str, str]] = {
    "github": {},
    "stripe": {},
    "standard-webhooks": {},
    "svix": {},
    "hmac": {"header": "X-Signature", "prefix": "sha256="},
    "hmac-base64": {"header": "X-Signature", "encoding": "base64"},
}
SIGNATURE_HEADERS = [
    "X-Hub-Signature-256",
    "X-Hub-Signature",
    "Stripe-Signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "X-Signature",
]
header_values = st.one_of(
    st.text(),
    st.sampled_from(["sha256=", "sha1=", "t=", "v1,", "v1=", str(NOW), f"t={NOW},v1="]).flatmap(
        lambda prefix: st.text(alphabet="0123456789abcdefABCDEF+/=,. ").map(lambda tail: prefix + tail)
    ),
)
headers = st.dictionaries(st.one_of(st.sampled_from(SIGNATURE_HEADERS), st.text()), header_values)
bodies = st.one_of(st.binary(), st.text().map(str.encode), st.just(b'{"id": "evt_1", "type": "x"}'))


def build(name: str, secret: str = SECRET) -> signatures.Verifier:
    provider = "hmac" if name.startswith("hmac") else name
    return signatures.build(provider, [secret], clock=lambda: float(NOW), **CONFIGS[name])


@pytest.mark.parametrize("name", sorted(CONFIGS))
@settings(max_examples=300, deadline=None)
@given(body=bodies, random_headers=headers)
def test_random_deliveries_are_refused_cleanly(
    name: str, body: bytes, random_headers: dict[str, str]
) -> None:
    verifier = build(name)
    delivery = Delivery(body, random_headers)
    with pytest.raises(VerificationError):
        verifier.verify(delivery)
    for found in (verifier.delivery_id(delivery), verifier.event_type(delivery)):
        assert found is None or isinstance(found, str)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@settings(max_examples=100, deadline=None)
@given(body=bodies, delivery_id=st.text(min_size=1), offset=st.integers(-300, 300))
def test_sign_round_trips_only_under_the_same_secret(
    name: str, body: bytes, delivery_id: str, offset: int
) -> None:
    signed = build(name).sign(body, timestamp=NOW + offset, delivery_id=delivery_id)
    assert_accepts(build(name), Delivery(body, signed))
    with pytest.raises(VerificationError):
        build(name, "whsec_b3RoZXIga2V5").verify(Delivery(body, signed))


def test_every_provider_has_property_tests() -> None:
    """Adding a provider means adding it to a property suite (here, the newer providers' one, or its own)."""
    from pathlib import Path

    from tests.signatures import test_properties_providers

    here = Path(__file__).parent
    for name in signatures.provider_names():
        own = here / f"test_{name.replace('-', '_')}.py"
        covered = (
            name in CONFIGS
            or name in test_properties_providers.CONFIGS
            or (own.exists() and "@given" in own.read_text())
        )
        assert covered, f"{name} has no hypothesis test"
