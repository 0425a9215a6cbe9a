"""A consumer's ordering key: where in an event the value lives that its deliveries are ordered by.

``ordering = "body:data.object.customer"`` (a dotted path into the JSON body; ``json:`` is the same),
``"header:X-Name"``, or a provider's natural key by name (``PRESETS``). Deliveries that share a key go
one at a time, in the order the gateway stored their events (``gateway/store/lua/ordering.lua``); an event
with no value for the key is not ordered. The locator is the one sources use for delivery ids.
"""

from __future__ import annotations

from signatures import Locator

#: Provider presets: a name for the key a provider's events naturally share.
PRESETS = {
    # Stripe: the object the event is about (a subscription, an invoice), or its customer.
    "stripe:object": "json:data.object.id",
    "stripe:customer": "json:data.object.customer",
    # Shopify: the resource a webhook is about (an order, a product) is the body, its id at the top.
    "shopify:resource": "json:id",
    # GitHub: the repository (its numeric id survives a rename).
    "github:repository": "json:repository.id",
}

_FORMS = '"body:<dotted.path>", "header:<Name>", "json:<dotted.path>" or one of ' + ", ".join(
    f'"{name}"' for name in PRESETS
)


def parse_ordering(spec: str) -> Locator:
    """The locator of an ordering spec; ValueError saying what is accepted."""
    text = PRESETS.get(spec, spec)
    kind, sep, path = text.partition(":")
    if kind == "body":
        text = f"json:{path}"
    elif kind not in ("json", "header") or not sep:
        raise ValueError(f"{spec!r} is not an ordering key: expected {_FORMS}")
    try:
        return Locator.parse(text)
    except ValueError as exc:
        raise ValueError(f"{spec!r} is not an ordering key: {exc}") from None
