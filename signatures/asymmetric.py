"""The public-key core for providers that sign with a private key we never hold (Ed25519, ECDSA P-256).

The only module besides the asymmetric providers that imports ``cryptography``.
"""

from __future__ import annotations

import base64
import re
from abc import abstractmethod
from typing import ClassVar

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

from signatures.base import Verifier
from signatures.errors import ConfigurationError

__all__ = [
    "PublicKeyVerifier",
    "ed25519_key_from_hex",
    "ed25519_verifies",
    "p256_key_from_base64_der",
    "p256_verifies",
]

_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) PUBLIC KEY-----")


def ed25519_key_from_hex(text: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key written in hex; ValueError otherwise."""
    raw = bytes.fromhex(text.strip())
    ed25519.Ed25519PublicKey.from_public_bytes(raw)  # refuses anything but 32 bytes
    return raw


def ed25519_verifies(key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``message`` under the raw public ``key``."""
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def p256_key_from_base64_der(text: str) -> bytes:
    """The DER SubjectPublicKeyInfo of a P-256 key in base64 DER (PEM armour allowed); else ValueError."""
    der = base64.b64decode("".join(_PEM_ARMOUR.sub("", text).split()), validate=True)
    key = load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 public key")
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def p256_verifies(key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether the DER ``signature`` is an ECDSA P-256/SHA-256 signature of ``message`` under ``key``."""
    public_key = load_der_public_key(key)
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


class PublicKeyVerifier(Verifier):
    """Base for providers whose ``secrets`` are their public keys; ``sign()`` stays unsupported."""

    #: How the key is written, for the configuration error: "a hex Ed25519 public key".
    key_description: ClassVar[str]

    @abstractmethod
    def _parse_key(self, text: str) -> bytes:
        """The canonical bytes of a configured public key; ValueError when it is not one."""

    @abstractmethod
    def _signed_by(self, key: bytes, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` over ``message`` was made with the private half of ``key``."""

    def _key(self, index: int, secret: str) -> bytes:
        try:
            return self._parse_key(secret)
        except (ValueError, UnsupportedAlgorithm):
            # Never chain the parser's error: some quote the input.
            raise ConfigurationError(
                f"{self.name}: secret #{index + 1} is not {self.key_description}"
            ) from None

    def _signed_by_any(self, signature: bytes, message: bytes) -> bool:
        """Whether any configured key (rotation) verifies the signature."""
        return any(self._signed_by(key, signature, message) for key in self._keys)
