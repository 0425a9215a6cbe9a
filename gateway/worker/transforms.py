"""A forward's transformation: a Python callable of the event that returns what to send, or None to
decline it (recorded ``filtered``), run on the worker's thread under a time limit.

``transform = "module:function"`` on a ``[[forward]]``. The function gets the same ``Event`` an
``@consumer`` gets and returns a mapping ``{"body": bytes | str, "headers": {...}, "path": "/...",
"method": "PUT"}`` (all but ``body`` optional) or an ``Outgoing``. A function that raises fails the
delivery like any consumer failure (retried, grouped into an issue, its traceback on the event's page),
but it is no sign that the destination is down: its breaker does not count it.
One that runs past its limit is interrupted the way Dramatiq's own ``TimeLimit`` middleware interrupts an
actor (an asynchronous exception in its thread), so the thread is freed; code stuck in one system call is
interrupted when that call returns.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dramatiq.middleware.threading import Interrupt, raise_thread_exception

from consumers.errors import ConsumerConfigError, ConsumersError
from consumers.event import Event

__all__ = ["Outgoing", "TransformFailed", "Transformation", "load"]

METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE", "GET"})


class TransformFailed(ConsumersError):
    """The transformation raised, ran past its time limit or returned something that cannot be sent: the
    forward's own fault, not its destination's (it does not count against the destination's breaker)."""


class _TimeUp(Interrupt):
    """Raised inside the transformation's thread when its time is up."""


@dataclass(frozen=True)
class Outgoing:
    """What a forward sends: the body, the headers (None: the original ones), and where and how."""

    body: bytes
    headers: Mapping[str, str] | None = None
    path: str | None = None
    method: str = "POST"

    @classmethod
    def of(cls, value: object, where: str) -> Outgoing:
        """A transformation's return value as an ``Outgoing``; ``TransformFailed`` naming what is wrong."""
        if isinstance(value, Outgoing):
            return value
        if not isinstance(value, Mapping):
            raise TransformFailed(f"{where} returned {type(value).__name__}; expected a mapping or None")
        unknown = set(value) - {"body", "headers", "path", "method"}
        if unknown:
            raise TransformFailed(f"{where} returned unknown keys: {', '.join(sorted(map(str, unknown)))}")
        body = value.get("body")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, bytes):
            raise TransformFailed(
                f"{where} returned a body of type {type(body).__name__}; expected bytes or str"
            )
        headers = value.get("headers")
        if headers is not None and not (
            isinstance(headers, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise TransformFailed(f"{where} returned headers that are not a mapping of str to str")
        path = value.get("path")
        if path is not None and not (isinstance(path, str) and path.startswith("/")):
            raise TransformFailed(f"{where} returned a path that does not start with '/'")
        method = value.get("method", "POST")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise TransformFailed(
                f"{where} returned method {method!r}; expected one of {', '.join(sorted(METHODS))}"
            )
        return cls(body, headers, path, method.upper())


class Transformation:
    """A transformation function with its time limit; called with an event, it returns an ``Outgoing``
    or None (declined)."""

    def __init__(self, function: Callable[[Event], object], *, name: str, timeout_seconds: float) -> None:
        self._function = function
        self.name = name
        self._timeout = timeout_seconds

    def __call__(self, event: Event) -> Outgoing | None:
        try:
            value = self._limited(event)
        except TransformFailed:
            raise
        except Exception as exc:  # its traceback travels on as the cause
            raise TransformFailed(f"transformation {self.name} raised {type(exc).__name__}: {exc}") from exc
        return None if value is None else Outgoing.of(value, f"transformation {self.name}")

    def _limited(self, event: Event) -> object:
        """The function's value, or ``TransformFailed`` once it has run past its limit."""
        thread = threading.get_ident()
        lock = threading.Lock()
        running = [True]

        def expire() -> None:
            with lock:
                if running[0]:
                    raise_thread_exception(thread, _TimeUp)  # type: ignore[no-untyped-call]

        timer = threading.Timer(self._timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            try:
                return self._function(event)
            finally:
                with lock:
                    running[0] = False
                timer.cancel()
        except _TimeUp:
            raise TransformFailed(
                f"transformation {self.name} ran past its {self._timeout:g} s limit and was stopped"
            ) from None


def load(spec: str, *, timeout_seconds: float) -> Transformation:
    """The transformation ``"module:function"`` names; ``ConsumerConfigError`` when it cannot be loaded."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConsumerConfigError(f"transform {spec!r}: cannot import {module_name!r}: {exc}") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConsumerConfigError(f"transform {spec!r}: {module_name} has no function {attribute!r}")
    return Transformation(function, name=spec, timeout_seconds=timeout_seconds)
