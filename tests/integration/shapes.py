"""Transformations the routing tests configure (``transform = "tests.integration.shapes:NAME"``)."""

from __future__ import annotations

import json
from typing import Any

from consumers import Event


def stripe_to_slack(event: Event) -> dict[str, Any]:
    """A Stripe invoice as a Slack incoming-webhook message."""
    invoice = event.json()["data"]["object"]
    amount = f"{invoice['amount_paid'] / 100:,.2f} {invoice['currency'].upper()}"
    return {
        "body": json.dumps({"text": f"Invoice {invoice['id']} paid: {amount}"}),
        "headers": {"Content-Type": "application/json"},
        "path": "/slack",
    }


def raises(event: Event) -> None:
    """A transformation with a bug."""
    raise KeyError("data.object.customer")


def loops(event: Event) -> None:
    """A transformation that never returns."""
    while True:
        pass


def declines(event: Event) -> None:
    """A transformation that wants nothing."""
    return None
