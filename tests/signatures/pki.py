"""A local test CA for the certificate providers (PayPal, AWS SNS): leaves it issues, and a fake fetcher
that serves them, so no test touches the network."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Authority:
    """A CA: a key and its self-signed (or parent-signed) certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def root(cls, name: str = "hookgate test root CA") -> Authority:
        key = rsa_key()
        builder = _builder(_name(name), _name(name), key.public_key(), NOW - timedelta(days=365))
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        return cls(key, builder.sign(key, hashes.SHA256()))

    def intermediate(self, name: str = "hookgate test intermediate CA") -> Authority:
        key = rsa_key()
        builder = _builder(_name(name), self.certificate.subject, key.public_key(), NOW - timedelta(days=30))
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        return Authority(key, builder.sign(self.key, hashes.SHA256()))

    def leaf(
        self,
        name: str,
        *,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
        not_before: datetime = NOW - timedelta(days=10),
        not_after: datetime = NOW + timedelta(days=300),
        san: bool = True,
    ) -> Leaf:
        private = key if key is not None else rsa_key()
        builder = _builder(_name(name), self.certificate.subject, private.public_key(), not_before, not_after)
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        return Leaf(private, builder.sign(self.key, hashes.SHA256()))


@dataclass
class Leaf:
    """A signing certificate and its private key."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def sign(self, message: bytes, algorithm: hashes.HashAlgorithm | None = None) -> str:
        """The base64 RSASSA-PKCS1-v1_5 signature of ``message`` (SHA-256 unless told)."""
        assert isinstance(self.key, rsa.RSAPrivateKey)
        raw = self.key.sign(message, padding.PKCS1v15(), algorithm or hashes.SHA256())
        return base64.b64encode(raw).decode()


def pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    not_before: datetime,
    not_after: datetime | None = None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after or NOW + timedelta(days=3650))
    )


@dataclass
class FakeFetch:
    """Serves documents by URL and records every URL it was asked for; unknown URLs fail like a 404."""

    documents: dict[str, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if url not in self.documents:
            raise OSError(f"404 for {url}")
        return self.documents[url]


HOSTILE_URL_TRICKS: Sequence[str] = (
    "http://{host}{path}",  # not https
    "https://{host}.evil.example{path}",
    "https://evil.example/{host}{path}",
    "https://{host}@evil.example{path}",  # userinfo trick
    "https://evil.example@{host}{path}",
    "https://{host}:444{path}",
    "https://{host}:443@evil.example{path}",
    "https://{host}\\@evil.example{path}",
    "https://{host}.{path}",
    "https://{host}{path}#fragment",
    "https://{host}{path}?redirect=https://evil.example/",
    "https://{host}/../../evil{path}",
    "https://{host}/%2e%2e{path}",
    "https://{host} {path}",
    "//{host}{path}",
    "file:///etc/passwd",
    "https://127.0.0.1{path}",
    "https://[::1]{path}",
    "",
)
