"""One module per provider; each registers its Verifier with signatures.registry."""
