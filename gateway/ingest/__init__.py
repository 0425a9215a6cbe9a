"""The webhook side of HTTP: the receiver, its sources, limits, bounded heads, draining, problem details."""
