"""Values the config parses and the runtime uses: rate limits ("N/s", "N/m") and IP networks (CIDRs).

Pure: the ingest path (``gateway/ingest/limits.py``) imports them from here, never the other way round.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute)\s*$")


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses); ValueError names the bad one."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP address or CIDR range") from None
    return tuple(networks)


@dataclass(frozen=True)
class RateLimit:
    """``N/s`` or ``N/m``: at most ``limit`` deliveries per fixed window of ``window_ms``."""

    limit: int
    window_ms: int

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        match = _RATE.match(text)
        if not match or int(match.group(1)) < 1:
            raise ValueError(f'{text!r} is not a rate: use "N/s" or "N/m" with N >= 1')
        return cls(int(match.group(1)), 1000 if match.group(2).startswith("s") else 60_000)
