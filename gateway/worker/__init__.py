"""The worker runtime: the broker, the actors, settling, holdings, housekeeping, the reconciler, forwards."""
