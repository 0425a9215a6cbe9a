"""Calendly: ``Calendly-Webhook-Signature: t=<unix>,v1=<hex>``, HMAC-SHA256 over ``"{t}." + body``."""

from __future__ import annotations

from signatures.registry import register
from signatures.timestamped import TimestampedHmacVerifier

__all__ = ["CalendlyVerifier"]


@register
class CalendlyVerifier(TimestampedHmacVerifier):
    """Calendly webhook subscriptions (https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures),
    signed with the subscription's (or the OAuth app's) webhook signing key.

    The tolerance is the three minutes of Calendly's own example. A payload has no delivery id (its
    ``payload.uri`` is the invitee's, shared by ``invitee.created`` and ``invitee.canceled``), so the
    gateway dedupes on the body.
    """

    name = "calendly"
    header = "Calendly-Webhook-Signature"
    default_tolerance = 180
    signature_headers = frozenset({"calendly-webhook-signature"})
    default_event_type = "json:event"
