"""AWS SNS over HTTP(S): the JSON message's ``Signature``, SignatureVersion 1 (SHA1withRSA) or 2
(SHA256withRSA) over its fields in the documented order for its ``Type``, with the certificate named by
``SigningCertURL``.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html: the fields signed per
type, fetching the certificate over HTTPS from an SNS host only, checking it was issued to SNS, and
refusing unexpected ``TopicArn`` values, which is why ``secrets`` are the topic ARNs this source accepts.
Certificate URLs must be ``https://sns.<region>.amazonaws.com[.cn]/….pem`` (the rule of AWS's PHP and JS
validators); the certificate must name ``sns.amazonaws.com``, ``sns-signing.<region>.amazonaws.com`` or
``sns-<region>.amazonaws.com[.cn]`` (the common names AWS's Java SDK v2 expects).

Subscription confirmation (https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html) is
left to the operator by default: the verified ``SubscriptionConfirmation`` is stored like any event, and
its ``SubscribeURL`` is visited by hand (``hookgate events show``). With ``confirm_subscriptions = true``
hookgate GETs the ``SubscribeURL`` itself, only when it is on an SNS host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes

from signatures.base import Handshake, Verifier
from signatures.certificates import (
    CertificateRule,
    UrlRule,
    certificate_cache,
    decode_signature,
    fetch_https,
    iso_timestamp,
    rsa_verifies,
)
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MalformedHeader, MissingHeader, SignatureMismatch
from signatures.registry import register

__all__ = ["CERTIFICATES", "SUBSCRIBE_URLS", "AwsSnsVerifier", "string_to_sign"]

_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _CONFIRMATION_FIELDS,
}
_OPTIONAL_FIELDS = frozenset({"Subject"})
_VERSIONS: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_SNS_HOST = re.compile(r"sns\.[a-z0-9-]{3,}\.amazonaws\.com(\.cn)?")

CERTIFICATES = CertificateRule(
    UrlRule(hosts=_SNS_HOST, path=re.compile(r"/[A-Za-z0-9._/-]*\.pem")),
    names=re.compile(
        r"sns(-signing)?(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?|sns-[a-z0-9-]+\.amazonaws\.com(\.cn)?"
    ),
)
#: Where a SubscribeURL may point before hookgate GETs it.
SUBSCRIBE_URLS = UrlRule(hosts=_SNS_HOST, path=re.compile(r"/?"), query=True)


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The documented string to sign: ``name\\nvalue\\n`` for each signed field of the message's type."""
    fields = _SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise MalformedHeader(f"Type must be one of {sorted(_SIGNED_FIELDS)}")
    parts: list[str] = []
    for field in fields:
        value = message.get(field)
        if value is None and field in _OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str):
            raise MalformedHeader(f"the message's {field} is missing or not a string")
        parts.append(f"{field}\n{value}\n")
    return "".join(parts).encode("utf-8", "surrogatepass")


@register
class AwsSnsVerifier(Verifier):
    """Amazon SNS HTTP(S) subscriptions; ``secrets`` are the topic ARNs whose messages are accepted.

    Options: ``confirm_subscriptions`` (default false) GETs a verified SubscribeURL; ``ca_file`` pins
    the CAs the certificate must chain to; ``fetch`` replaces the HTTPS download (tests). No tolerance
    by default (SNS retries a message with its first ``Timestamp``): dedupe is on ``MessageId``.
    """

    name = "aws-sns"
    blocking = True  # a certificate not yet cached is fetched; confirm_subscriptions GETs SubscribeURL
    options = frozenset({"fetch", "ca_file", "confirm_subscriptions"})
    default_delivery_id = "json:MessageId"
    default_event_type = "json:Type"

    def _configure(self, options: Mapping[str, Any]) -> None:
        self.certificates = certificate_cache(self.name, CERTIFICATES, options, self.clock)
        self._fetch = options.get("fetch", fetch_https)
        confirm = options.get("confirm_subscriptions", False)
        if not isinstance(confirm, bool):
            raise ConfigurationError("aws-sns: option 'confirm_subscriptions' must be true or false")
        self.confirm_subscriptions: bool = confirm

    def verify(self, delivery: Delivery) -> None:
        message = delivery.json()
        if not isinstance(message, dict):
            raise MissingHeader("the body is not an SNS message (a JSON object)")
        signed = string_to_sign(message)
        algorithm = _VERSIONS.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise MalformedHeader(f"SignatureVersion must be one of {sorted(_VERSIONS)}")
        signature = message.get("Signature")
        if not isinstance(signature, str):
            raise MissingHeader("the message has no Signature")
        raw_signature = decode_signature(signature, "Signature")
        # Cheap refusals first: a foreign topic or a stale message never costs a certificate download.
        if message["TopicArn"] not in self.secrets:
            raise SignatureMismatch("TopicArn is not one of this source's topics")
        self._check_time(iso_timestamp(message["Timestamp"], "Timestamp"))
        key = self.certificates.public_key(message.get("SigningCertURL"))
        if not rsa_verifies(key, raw_signature, signed, algorithm()):
            raise SignatureMismatch("Signature does not match the message")

    def handshake(self, delivery: Delivery) -> Handshake | None:
        """With ``confirm_subscriptions``, confirm a verified SubscriptionConfirmation by GETting its
        SubscribeURL (only on an SNS host); SNS then wants any 2xx, and nothing is stored. None otherwise,
        or when the GET fails: the confirmation is stored as an event and the operator confirms it by hand
        (its SubscribeURL is in the stored body, never in a log)."""
        message = delivery.json()
        if not self.confirm_subscriptions or not isinstance(message, dict):
            return None
        if message.get("Type") != "SubscriptionConfirmation":
            return None
        url = SUBSCRIBE_URLS.check(message.get("SubscribeURL"))
        if url is None or "Action=ConfirmSubscription" not in url:
            return None
        try:
            self._fetch(url)
        except Exception:  # the event is stored all the same; confirming by hand still works
            return None
        return Handshake(200, b"", "text/plain", store=False)
