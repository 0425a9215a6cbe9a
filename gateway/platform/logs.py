"""structlog set-up: JSON lines for ``serve``/``worker``, a readable console for ``dev``.

Lines carry ``source``, ``delivery_id``, ``event_id`` (and later ``consumer``, ``message_id``) where known,
and ``trace_id`` while a span is current (tracing on).
A last-line-of-defence processor masks any field whose name suggests a secret, a signature or a body.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import msgspec
import structlog

from gateway.platform import tracing

_SENSITIVE = re.compile(
    r"secret|password|token|signature|authori[sz]ation|cookie|body|api_?key", re.IGNORECASE
)
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_JSON = msgspec.json.Encoder(enc_hook=repr)


def _mask_sensitive(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in event_dict:
        if _SENSITIVE.search(key):
            event_dict[key] = "[redacted]"
    return event_dict


def _trace_id(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The current span's trace id, so a line leads to its trace (with tracing off: one check)."""
    trace_id = tracing.current_trace_id()
    if trace_id is not None:
        event_dict["trace_id"] = trace_id
    return event_dict


def _error_fields(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The error's type and message as fields of their own, from ``exc_info`` or from an exception among
    a stdlib record's arguments (Dramatiq logs ``"...: %s", exc``); the traceback, if any, becomes one
    JSON string (``format_exc_info``), never lines of its own."""
    exc_info = event_dict.get("exc_info")
    exc: BaseException | None = None
    if exc_info is True:
        exc = sys.exc_info()[1]
    elif isinstance(exc_info, BaseException):
        exc = exc_info
    elif isinstance(exc_info, tuple):
        exc = exc_info[1]
    arguments = event_dict.pop("positional_args", ())  # a stdlib record's (``pass_foreign_args``)
    if exc is None and isinstance(arguments, tuple):
        exc = next((arg for arg in arguments if isinstance(arg, BaseException)), None)
    if exc is not None:
        event_dict.setdefault("error_type", type(exc).__name__)
        event_dict.setdefault("error", str(exc))
    return event_dict


def _json_bytes(event_dict: MutableMapping[str, Any], **_: Any) -> bytes:
    return _JSON.encode(event_dict)


def configure(fmt: Literal["json", "console"], level: str = "info") -> None:
    """Route structlog and the stdlib loggers (uvicorn, dramatiq) through one renderer on stderr."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _trace_id,
        _mask_sensitive,
    ]
    renderer: Any
    if fmt == "json":
        # msgspec and a bytes logger: a line per delivery is on the hot path, this halves its cost.
        renderer = structlog.processors.JSONRenderer()
        final: Any = structlog.processors.JSONRenderer(serializer=_json_bytes)
        factory: Any = structlog.BytesLoggerFactory(file=sys.stderr.buffer)
    else:
        renderer = final = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        factory = structlog.WriteLoggerFactory(file=sys.stderr)
    errors: list[Any] = [_error_fields, structlog.processors.format_exc_info]
    structlog.configure(
        processors=[*shared, *errors, final],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared, *errors],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            pass_foreign_args=True,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    worker_thread = logging.getLogger("dramatiq.worker.WorkerThread")
    worker_thread.filters[:] = [_not_a_failed_attempt]


def _not_a_failed_attempt(record: logging.LogRecord) -> bool:
    """Drop Dramatiq's own line, with a full traceback, for every failed attempt: hookgate logs each one
    (consumer, event, error) and keeps its traceback in the attempt history. Formatting that traceback
    for a log line cost a worker more than the attempt itself while a destination was down."""
    return not str(record.msg).startswith("Failed to process message %s with unhandled exception")
