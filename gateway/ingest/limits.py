"""Per-source IP allowlists (with trusted proxies) and rate limits shared by every gateway process."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

from gateway.config import Network, RateLimit, parse_networks
from gateway.store import keys, scripts

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class ClientAddress:
    """The sender's address: the peer, or, when the peer is a trusted proxy, the nearest untrusted hop
    of ``X-Forwarded-For`` (read right to left, since proxies append)."""

    def __init__(self, trusted_proxies: Sequence[str]) -> None:
        self._trusted = parse_networks(trusted_proxies)

    def _is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: Sequence[str]) -> Address | None:
        address = _address(peer) if peer else None
        if address is None or not self._trusted or not self._is_trusted(address):
            return address
        hops = [hop for header in forwarded_for for hop in header.split(",")]
        for hop in reversed(hops):
            candidate = _address(hop)
            if candidate is None:
                return None  # a garbled chain: believe nothing
            if not self._is_trusted(candidate):
                return candidate
            address = candidate
        return address


def allowed(address: Address | None, networks: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


class RateLimiter:
    """A fixed-window counter per source in Redis, so the limit holds across gateway processes."""

    def __init__(self, client: aioredis.Redis, timeout: float) -> None:
        self._script = scripts.register(client, "rate_limit")
        self._timeout = timeout

    async def retry_after_ms(self, source: str, rate: RateLimit) -> int:
        """0 while under the limit, else the milliseconds until the window resets."""
        window = int(time.time() * 1000) // rate.window_ms
        async with asyncio.timeout(self._timeout):
            wait = await self._script(keys=[keys.rate(source, window)], args=[rate.window_ms, rate.limit])
        return int(wait)
