"""Exceptions raised by signature verification.

SignaturesError(Exception)
├── VerificationError            # the delivery is refused (HTTP 401); ``reason`` says why
│   ├── MissingHeader            # "missing_header"
│   ├── MalformedHeader          # "malformed_header"
│   ├── SignatureMismatch        # "signature_mismatch"
│   ├── TimestampOutOfTolerance  # "timestamp_out_of_tolerance"
│   └── CertificateRefused       # "certificate_refused": foreign URL, fetch failed, expired, wrong name
├── ConfigurationError(SignaturesError, ValueError)  # bad verifier config
└── SigningNotSupported          # sign() where we cannot hold the private key

Messages never contain a secret or an expected signature; they may name the header.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CertificateRefused",
    "ConfigurationError",
    "MalformedHeader",
    "MissingHeader",
    "SignatureMismatch",
    "SignaturesError",
    "SigningNotSupported",
    "TimestampOutOfTolerance",
    "VerificationError",
]


class SignaturesError(Exception):
    """Root of every error this package raises."""


class VerificationError(SignaturesError):
    """The delivery is refused; ``reason`` is a stable slug for logs and metrics."""

    reason: ClassVar[str] = "verification_failed"


class MissingHeader(VerificationError):
    """A header the provider always sends is absent."""

    reason = "missing_header"


class MalformedHeader(VerificationError):
    """A signature or timestamp header is present but cannot be parsed."""

    reason = "malformed_header"


class SignatureMismatch(VerificationError):
    """No given signature matches any configured secret."""

    reason = "signature_mismatch"


class TimestampOutOfTolerance(VerificationError):
    """The signed timestamp is too old or too far in the future."""

    reason = "timestamp_out_of_tolerance"


class CertificateRefused(VerificationError):
    """The signing certificate's URL, download or contents cannot be trusted; no request is made to a
    URL outside the provider's own hosts."""

    reason = "certificate_refused"


class ConfigurationError(SignaturesError, ValueError):
    """A verifier was configured wrongly: unknown provider or option, bad algorithm, bad secret."""


class SigningNotSupported(SignaturesError):
    """The provider signs with a private key that hookgate cannot hold."""
