"""The gateway's errors as RFC 9457 problem details, with stable ``type`` and ``title`` per failure."""

from __future__ import annotations

import structlog
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

log = structlog.get_logger("hookgate.app")

_TYPE = "urn:hookgate:problem:"
_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Request body too large"),
    422: ("invalid", "Unprocessable request"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


def problem(
    status: int, detail: str, *, slug: str | None = None, headers: dict[str, str] | None = None
) -> ProblemDetailsException:
    default_slug, title = _TITLES.get(status, ("error", "Error"))
    return ProblemDetailsException(
        status_code=status, type_=_TYPE + (slug or default_slug), title=title, detail=detail, headers=headers
    )


#: What every front end says when Redis does not answer.
UNAVAILABLE = "the event store is unavailable; retry later"


def unavailable(retry_after: int) -> ProblemDetailsException:
    """The one answer for a Redis that cannot be reached (an outage, never a bad command): 503 with
    ``Retry-After`` (``[gateway] retry_after_seconds``)."""
    return problem(503, UNAVAILABLE, headers={"Retry-After": str(retry_after)})


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    """A bug, not bad input: logged with its traceback here, never shown to the client."""
    log.error("unhandled error", error_type=type(exc).__name__, exc_info=exc)
    return problem(500, "the gateway failed to handle this request")


def _from_validation(exc: ValidationException) -> ProblemDetailsException:
    """A request Litestar could not parse (query parameter types, JSON bodies) is unprocessable: 422."""
    return problem(422, str(exc.detail) or "the request could not be parsed", slug="invalid")


def _from_recursion(exc: RecursionError) -> ProblemDetailsException:
    """Only a request body nests deeply enough to exhaust the parser: the client's, not ours."""
    return problem(400, "the request body is nested too deeply to parse")


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    detail = exc.detail if exc.status_code < 500 else "the gateway failed to handle this request"
    return problem(exc.status_code, detail, headers=exc.headers)


def plugin() -> ProblemDetailsPlugin:
    """Every HTTP error the app raises, Litestar's own included, leaves as problem+json."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                ValidationException: _from_validation,
                HTTPException: _from_http_exception,
                RecursionError: _from_recursion,
                Exception: _from_unexpected,
            }
        )
    )
