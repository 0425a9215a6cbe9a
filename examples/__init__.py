"""Consumers to copy from; ``make run`` loads ``examples.log_github``. Not part of the installed package."""
