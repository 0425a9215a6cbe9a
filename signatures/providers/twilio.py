"""Twilio: ``X-Twilio-Signature``, base64 HMAC-SHA1 (or SHA-256) of the URL + sorted form parameters."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from signatures.base import Verifier
from signatures.delivery import Delivery
from signatures.errors import ConfigurationError, MalformedHeader, SignatureMismatch
from signatures.hmac import digest, encode, matches_any
from signatures.registry import register

__all__ = ["TwilioVerifier", "with_body_hash"]

_SIGNATURE = "X-Twilio-Signature"
_SETTINGS = "X-Twilio-Webhooks-Signature-Settings"
_FORM = "application/x-www-form-urlencoded"
_BODY_HASH = "bodySHA256"
_ALGORITHMS = {"sha1": "HMAC_SHA1", "sha256": "HMAC_SHA256"}


def with_body_hash(url: str, body: bytes) -> str:
    """``url`` with the ``bodySHA256`` query parameter Twilio adds for non-form (JSON) bodies."""
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode({_BODY_HASH: hashlib.sha256(body).hexdigest()})


@register
class TwilioVerifier(Verifier):
    """Twilio webhooks, signed with the Auth Token (HMAC-SHA1) or a SharedKey (option ``algorithm``).

    As in Twilio's SDK, the URL is tried with and without its port. A body that is neither
    form-encoded nor covered by a ``bodySHA256`` query parameter is refused: nothing signs it.
    """

    name = "twilio"
    options = frozenset({"algorithm"})
    signs_url = True
    signature_headers = frozenset({_SIGNATURE.lower()})
    default_delivery_id = "header:I-Twilio-Idempotency-Token"

    def _configure(self, options: Mapping[str, Any]) -> None:
        algorithm = options.get("algorithm", "sha1")
        if algorithm not in _ALGORITHMS:
            raise ConfigurationError(
                f"twilio: option 'algorithm' must be one of {sorted(_ALGORITHMS)}, got {algorithm!r}"
            )
        self.algorithm: str = algorithm

    def verify(self, delivery: Delivery) -> None:
        given = self._header(delivery, _SIGNATURE).strip()
        if not given:
            raise MalformedHeader(f"{_SIGNATURE} must hold a base64 digest")
        params = _form_params(delivery.body) if _is_form(delivery) else []
        expected = (
            self._signature(key, url, params) for key in self._keys for url in _port_variants(delivery.url)
        )
        if not matches_any(expected, [given]):
            raise SignatureMismatch(self._mismatch_detail(delivery))
        if not _is_form(delivery):
            self._check_body_hash(delivery)

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        delivery_id: str | None = None,
        event_type: str | None = None,
        url: str = "",
        form: bool = False,
    ) -> dict[str, str]:
        """Sign ``body`` as posted to ``url``; a non-form body must go to ``with_body_hash(url, body)``."""
        content_type = _FORM if form else "application/json"
        params = _form_params(body) if form else []
        if not form and _BODY_HASH not in _query(url):
            url = with_body_hash(url, body)
        return {
            **self._locator_headers(delivery_id, event_type),
            "Content-Type": content_type,
            _SIGNATURE: self._signature(self._keys[0], url, params),
        }

    def _signature(self, key: bytes, url: str, params: list[tuple[str, str]]) -> str:
        # Twilio's SDK: names in code-point order, each name's distinct values sorted, no delimiters.
        values: dict[str, set[str]] = {}
        for name, value in params:
            values.setdefault(name, set()).add(value)
        signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
        return encode(digest(self.algorithm, key, signed.encode("utf-8", "surrogatepass")), "base64")

    def _check_body_hash(self, delivery: Delivery) -> None:
        hashes = _query(delivery.url).get(_BODY_HASH)
        if not hashes:
            if delivery.body:
                raise SignatureMismatch(
                    f"the body is not form-encoded and the URL carries no {_BODY_HASH} to sign it"
                )
            return
        actual = hashlib.sha256(delivery.body).hexdigest()
        if not hmac.compare_digest(actual, hashes[0].strip().lower()):
            raise SignatureMismatch(f"the body does not match the URL's {_BODY_HASH} parameter")

    def _mismatch_detail(self, delivery: Delivery) -> str:
        detail = f"{_SIGNATURE} does not match the URL and parameters"
        settings = delivery.header(_SETTINGS) or ""
        if _ALGORITHMS[self.algorithm] not in settings and "algorithm=" in settings:
            detail += f' ({_SETTINGS} names another algorithm: check the option "algorithm")'
        return detail


def _is_form(delivery: Delivery) -> bool:
    content_type = delivery.header("Content-Type") or ""
    return content_type.split(";")[0].strip().lower() == _FORM


def _form_params(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _query(url: str) -> dict[str, list[str]]:
    try:
        return parse_qs(urlsplit(url).query)
    except ValueError:
        return {}


def _port_variants(url: str) -> Iterable[str]:
    """The URL as given, and with its port removed or its default port added."""
    yield url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return
    if port is not None:
        yield parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]).geturl()
    else:
        default = 443 if parts.scheme == "https" else 80
        yield parts._replace(netloc=f"{parts.netloc}:{default}").geturl()
