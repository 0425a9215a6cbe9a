"""Starting a process for its role: the gateway, the worker, ``hookgate dev`` and the start-up checks."""
