"""What the certificate-signed providers (PayPal, AWS SNS) share: URLs allowed only on the provider's own
hosts, a bounded cache of signing certificates, and RSA verification.

A URL is checked before any request, and the request goes to the URL rebuilt from the checked parts (so
no disagreement between URL parsers can send it elsewhere), over HTTPS, without following redirects.
Trust in the downloaded certificate comes from TLS to that host, as in AWS's own SDKs; the certificate
must then be in date, name the provider and hold an RSA key. With ``ca_file`` it must also chain to one of
the operator's pinned CAs. A cache hit costs no I/O; misses are bounded per minute, so deliveries naming
ever-new certificate URLs cannot keep the (synchronous) verifier downloading.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from signatures.errors import CertificateRefused, ConfigurationError, MalformedHeader

__all__ = [
    "CertificateCache",
    "CertificateRule",
    "Fetcher",
    "UrlRule",
    "certificate_cache",
    "decode_signature",
    "fetch_https",
    "iso_timestamp",
    "rsa_verifies",
]

#: GETs an https URL and returns the body; raises on any failure. Tests pass a fake.
Fetcher = Callable[[str], bytes]

FETCH_TIMEOUT = 5.0
_MAX_BYTES = 64 * 1024
_MAX_CHAIN = 5
_VISIBLE_ASCII = re.compile(r"[!-~]+")
_HOST = re.compile(r"[a-z0-9.-]{1,253}")
_QUERY = re.compile(r"[A-Za-z0-9._~%=&:+/-]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def fetch_https(url: str) -> bytes:
    """GET ``url`` with httpx: TLS verified, no redirects, a short timeout, at most 64 KiB, status 200."""
    import httpx  # imported here: only processes with a certificate provider need it

    client = httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False)
    with client, client.stream("GET", url) as response:
        if response.status_code != 200:
            raise OSError(f"answered {response.status_code}")
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > _MAX_BYTES:
                raise OSError("document too large")
        return body


@dataclass(frozen=True, slots=True)
class UrlRule:
    """Where a provider's URLs may point: https, a host matching ``hosts``, a path matching ``path``."""

    hosts: re.Pattern[str]
    path: re.Pattern[str]
    query: bool = False

    def check(self, url: object) -> str | None:
        """The URL rebuilt from its checked parts, or None when it may not be fetched."""
        if not isinstance(url, str) or not _VISIBLE_ASCII.fullmatch(url):
            return None
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        host, _, port = parts.netloc.partition(":")
        if parts.scheme != "https" or port not in ("", "443") or parts.fragment or "@" in parts.netloc:
            return None
        if not _HOST.fullmatch(host) or not self.hosts.fullmatch(host):
            return None
        if ".." in parts.path or not self.path.fullmatch(parts.path):
            return None
        if parts.query and not (self.query and _QUERY.fullmatch(parts.query)):
            return None
        return f"https://{host}{parts.path}" + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True, slots=True)
class CertificateRule:
    """Where a provider's signing certificates live and the names (CN or DNS SAN) they must carry."""

    url: UrlRule
    names: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _Entry:
    key: rsa.RSAPublicKey
    not_before: float
    not_after: float


class CertificateCache:
    """Signing keys by certificate URL: fetched once from an allowed host, kept until the certificate's
    notAfter; at most ``max_entries`` kept and ``fetches_per_minute`` downloads made."""

    def __init__(
        self,
        rule: CertificateRule,
        *,
        clock: Callable[[], float],
        fetch: Fetcher = fetch_https,
        anchors: Sequence[x509.Certificate] = (),
        max_entries: int = 32,
        fetches_per_minute: int = 10,
    ) -> None:
        self._rule = rule
        self._clock = clock
        self._fetch = fetch
        self._anchors = tuple(anchors)
        self._max_entries = max_entries
        self._fetches_per_minute = fetches_per_minute
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._recent_fetches: deque[float] = deque()
        self._lock = threading.Lock()

    def public_key(self, url: object) -> rsa.RSAPublicKey:
        """The RSA key of the certificate at ``url``; CertificateRefused when it cannot be trusted."""
        canonical = self._rule.url.check(url)
        if canonical is None:
            raise CertificateRefused("the certificate URL is not an https URL on the provider's own hosts")
        now = self._clock()
        with self._lock:
            entry = self._entries.get(canonical)
            if entry is not None:
                self._entries.move_to_end(canonical)
        if entry is not None and entry.not_before <= now < entry.not_after:
            return entry.key
        self._spend_fetch(now)
        try:
            document = self._fetch(canonical)
        except Exception as exc:  # the network, TLS, a status, a size: all mean "not trusted now"
            raise CertificateRefused(
                f"could not download the signing certificate ({type(exc).__name__})"
            ) from None
        entry = self._check(document, now)
        with self._lock:
            self._entries[canonical] = entry
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return entry.key

    def _spend_fetch(self, now: float) -> None:
        with self._lock:
            while self._recent_fetches and self._recent_fetches[0] <= now - 60:
                self._recent_fetches.popleft()
            if len(self._recent_fetches) >= self._fetches_per_minute:
                raise CertificateRefused("too many certificate downloads in the last minute; try again later")
            self._recent_fetches.append(now)

    def _check(self, document: bytes, now: float) -> _Entry:
        try:
            chain = x509.load_pem_x509_certificates(document)
        except ValueError:
            raise CertificateRefused("the certificate URL did not serve a PEM certificate") from None
        leaf = chain[0]
        not_before = leaf.not_valid_before_utc.timestamp()
        not_after = leaf.not_valid_after_utc.timestamp()
        if not not_before <= now < not_after:
            raise CertificateRefused("the signing certificate is expired or not yet valid")
        if not any(self._rule.names.fullmatch(name) for name in _names(leaf)):
            raise CertificateRefused("the signing certificate does not name the provider")
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
            raise CertificateRefused("the signing certificate does not hold an RSA key of 2048 bits or more")
        if self._anchors:
            self._check_chain(leaf, chain[1:], now)
        return _Entry(key, not_before, not_after)

    def _check_chain(self, leaf: x509.Certificate, extra: Sequence[x509.Certificate], now: float) -> None:
        """The leaf must chain, through CAs served with it, to one of the pinned anchors."""
        pool = [*extra, *self._anchors]
        current = leaf
        for _ in range(_MAX_CHAIN):
            if current in self._anchors:
                return
            issuer = next((c for c in pool if _is_ca(c) and _issued_by(current, c)), None)
            if issuer is None:
                raise CertificateRefused("the signing certificate does not chain to a trusted CA")
            if not issuer.not_valid_before_utc.timestamp() <= now < issuer.not_valid_after_utc.timestamp():
                raise CertificateRefused("a CA certificate in the chain is expired or not yet valid")
            current = issuer
        raise CertificateRefused("the certificate chain is too long")


def certificate_cache(
    provider: str, rule: CertificateRule, options: Mapping[str, Any], clock: Callable[[], float]
) -> CertificateCache:
    """The cache a provider builds from its ``fetch`` (a callable; tests) and ``ca_file`` options."""
    fetch = options.get("fetch", fetch_https)
    if not callable(fetch):
        raise ConfigurationError(f"{provider}: option 'fetch' must be a callable taking a URL")
    ca_file = options.get("ca_file")
    anchors = _load_anchors(provider, ca_file) if ca_file is not None else ()
    return CertificateCache(rule, clock=clock, fetch=fetch, anchors=anchors)


def rsa_verifies(
    key: rsa.RSAPublicKey, signature: bytes, message: bytes, algorithm: hashes.HashAlgorithm
) -> bool:
    """Whether ``signature`` is the RSASSA-PKCS1-v1_5 signature of ``message`` under ``key``."""
    try:
        key.verify(signature, message, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError):
        return False
    return True


def decode_signature(value: str, where: str) -> bytes:
    """The bytes of a base64 signature; MalformedHeader otherwise."""
    value = value.strip()
    if not _BASE64.fullmatch(value):
        raise MalformedHeader(f"{where} must hold a base64 signature")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise MalformedHeader(f"{where} must hold a base64 signature") from None


def iso_timestamp(value: str, where: str) -> int:
    """Whole Unix seconds of an ISO 8601 time ("2015-05-18T15:45:13Z"; no zone means UTC)."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise MalformedHeader(f"{where} must be an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def _names(certificate: x509.Certificate) -> list[str]:
    """The subject's common names and DNS subject alternative names, lower-cased."""
    names = [
        str(attribute.value) for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    ]
    try:
        alternatives = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, ValueError):
        pass
    else:
        names.extend(alternatives.value.get_values_for_type(x509.DNSName))
    return [name.lower() for name in names]


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _load_anchors(provider: str, path: object) -> tuple[x509.Certificate, ...]:
    try:
        anchors = x509.load_pem_x509_certificates(Path(str(path)).read_bytes())
    except (OSError, ValueError):
        raise ConfigurationError(
            f"{provider}: option 'ca_file' must name a readable PEM file of CAs"
        ) from None
    return tuple(anchors)
