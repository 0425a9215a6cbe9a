"""PayPal: ``PAYPAL-TRANSMISSION-SIG``, SHA256withRSA over ``transmission_id|transmission_time|webhook_id|
crc32(body)`` (the CRC in decimal), with the certificate named by ``PAYPAL-CERT-URL``.

https://developer.paypal.com/api/rest/webhooks/rest/ and the verify-webhook-signature reference
(https://developer.paypal.com/api/webhooks/v1/#verify-webhook-signature) name the headers; the signed
string, the accepted ``PAYPAL-AUTH-ALGO`` values (SHA256withRSA, and SHA1withRSA, which PayPal's SDK
also maps) and the certificate's name (ending in ``.paypal.com``) follow PayPal's own Python SDK,
``paypalrestsdk.notifications.WebhookEvent``. Certificates are fetched only from
``https://api[-m][.sandbox].paypal.com/v1/notifications/certs/…``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes

from signatures.base import Verifier
from signatures.certificates import (
    CertificateRule,
    UrlRule,
    certificate_cache,
    decode_signature,
    iso_timestamp,
    rsa_verifies,
)
from signatures.delivery import Delivery
from signatures.errors import MalformedHeader, SignatureMismatch
from signatures.registry import register

__all__ = ["CERTIFICATES", "PayPalVerifier", "signed_string"]

_ID = "PAYPAL-TRANSMISSION-ID"
_TIME = "PAYPAL-TRANSMISSION-TIME"
_SIGNATURE = "PAYPAL-TRANSMISSION-SIG"
_CERT_URL = "PAYPAL-CERT-URL"
_ALGORITHM = "PAYPAL-AUTH-ALGO"
_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256withRSA": hashes.SHA256,
    "SHA1withRSA": hashes.SHA1,
}
_TRANSMISSION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")

CERTIFICATES = CertificateRule(
    UrlRule(
        hosts=re.compile(r"api(-m)?(\.sandbox)?\.paypal\.com"),
        path=re.compile(r"/v1/notifications/certs/[A-Za-z0-9._-]+"),
    ),
    names=re.compile(r"[a-z0-9.-]+\.paypal\.com"),
)


def signed_string(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    """What PayPal signs for one delivery to one webhook."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


@register
class PayPalVerifier(Verifier):
    """PayPal REST webhooks; ``secrets`` are the webhook IDs of the listener (any may match).

    Options: ``ca_file`` pins the CAs the certificate must chain to; ``fetch`` replaces the HTTPS
    download (tests). No tolerance by default: set ``tolerance_seconds`` to refuse old transmissions.
    """

    name = "paypal"
    blocking = True  # a certificate not yet cached is fetched
    options = frozenset({"fetch", "ca_file"})
    signature_headers = frozenset(h.lower() for h in (_ID, _TIME, _SIGNATURE, _CERT_URL, _ALGORITHM))
    default_delivery_id = "json:id"
    default_event_type = "json:event_type"

    def _configure(self, options: Mapping[str, Any]) -> None:
        self.certificates = certificate_cache(self.name, CERTIFICATES, options, self.clock)

    def verify(self, delivery: Delivery) -> None:
        transmission_id = self._header(delivery, _ID).strip()
        transmission_time = self._header(delivery, _TIME).strip()
        signature = decode_signature(self._header(delivery, _SIGNATURE), _SIGNATURE)
        cert_url = self._header(delivery, _CERT_URL).strip()
        algorithm = _ALGORITHMS.get(self._header(delivery, _ALGORITHM).strip())
        if algorithm is None:
            raise MalformedHeader(f"{_ALGORITHM} must be one of {sorted(_ALGORITHMS)}")
        if not _TRANSMISSION_ID.fullmatch(transmission_id):
            raise MalformedHeader(f"{_ID} must be a transmission id")
        # Cheap refusals first: a stale or foreign delivery never costs a certificate download.
        self._check_time(iso_timestamp(transmission_time, _TIME))
        key = self.certificates.public_key(cert_url)
        for webhook_id in self.secrets:
            message = signed_string(transmission_id, transmission_time, webhook_id, delivery.body)
            if rsa_verifies(key, signature, message, algorithm()):
                return
        raise SignatureMismatch(f"{_SIGNATURE} does not match the body for any configured webhook ID")
