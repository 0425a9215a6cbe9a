"""``python -m gateway`` is the ``hookgate`` command."""

from gateway.frontends.cli import main

main()
