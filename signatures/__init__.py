"""Webhook signature verification: one verifier per provider over a shared HMAC core."""

from signatures.base import Clock, Handshake, Verifier
from signatures.delivery import Delivery
from signatures.errors import (
    CertificateRefused,
    ConfigurationError,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    SignaturesError,
    SigningNotSupported,
    TimestampOutOfTolerance,
    VerificationError,
)
from signatures.locator import Locator
from signatures.registry import build, get_provider, provider_names, register, verify

__all__ = [
    "CertificateRefused",
    "Clock",
    "ConfigurationError",
    "Delivery",
    "Handshake",
    "Locator",
    "MalformedHeader",
    "MissingHeader",
    "SignatureMismatch",
    "SignaturesError",
    "SigningNotSupported",
    "TimestampOutOfTolerance",
    "VerificationError",
    "Verifier",
    "build",
    "get_provider",
    "provider_names",
    "register",
    "verify",
]
