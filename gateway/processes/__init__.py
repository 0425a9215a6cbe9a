"""Each process wired for its role: the bootstrap, the Litestar app, the gateway, the worker, ``hookgate dev``
and the start-up checks."""
