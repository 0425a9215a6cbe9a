"""The HTTP side: the app, the webhook receiver, request limits, bounded heads, draining, problem details."""
