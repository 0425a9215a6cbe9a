"""The DLQ dashboard at ``/dashboard``: server-rendered Jinja pages with htmx, served by the gateway.

Nothing loads from another host (htmx ships in ``static/``), no inline script runs (a strict
Content-Security-Policy forbids it), and everything from a delivery is escaped by Jinja's autoescape.
"""

from __future__ import annotations

import errno
import urllib.parse
from pathlib import Path
from typing import Any

import structlog
from litestar import Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.exceptions import HTTPException, NotFoundException
from litestar.file_system import BaseLocalFileSystem
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import PathType
from litestar.types.file_types import FileInfo

from gateway.config import Settings
from gateway.frontends.dashboard import auth, filters
from gateway.frontends.dashboard.views import Access, Pages
from gateway.ingest.problems import UNAVAILABLE
from gateway.platform.connections import is_store_outage

__all__ = ["PREFIX", "dashboard_router", "template_config"]

log = structlog.get_logger("hookgate.dashboard")

PREFIX = auth.PREFIX
_HERE = Path(__file__).parent

#: No script but the gateway's own files, no inline script or style, no framing, forms post home only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=_HERE / "templates",
        engine=JinjaTemplateEngine,
        engine_callback=filters.install,
    )


def dashboard_router(settings: Settings) -> Router:
    """The pages, their static files, the session and CSRF middleware and HTML error pages."""
    static = create_static_files_router(
        path="/static",
        directories=[_HERE / "static"],
        file_system=_StaticFiles(),
        cache_control=CacheControlHeader(max_age=3600),
        after_request=_static_headers,
        guards=[_plain_file_name],
        include_in_schema=False,
    )
    return Router(
        path=PREFIX,
        route_handlers=[Access, Pages, static],
        middleware=auth.middleware(settings.admin, auth.session_key(settings.admin)),
        response_headers=[ResponseHeader(name=k, value=v) for k, v in SECURITY_HEADERS.items()],
        exception_handlers=_exception_handlers(),
        include_in_schema=False,
    )


def _exception_handlers() -> dict[Any, Any]:
    handlers: dict[Any, Any] = {auth.LoginRequired: _to_login, HTTPException: _error_page}
    handlers[Exception] = _unexpected
    return handlers


def _plain_file_name(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A static file name with a control character (``%00``) names no file: 404, before the file
    system sees it."""
    if any(ord(c) < 32 or ord(c) == 127 for c in connection.scope["path"]):
        raise NotFoundException()


class _StaticFiles(BaseLocalFileSystem):
    """The static directory, where a path the OS refuses to look up (a name over 255 bytes, a file used
    as a directory, a symlink loop) names no file: 404, not Litestar's 500 for any ``OSError``."""

    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        try:
            return await super().info(path, **kwargs)
        except OSError as exc:
            if exc.errno in _NO_SUCH_NAME:
                raise FileNotFoundError(exc.errno, "no such static file") from None
            raise


_NO_SUCH_NAME = frozenset({errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP, errno.EINVAL})


async def _static_headers(response: Any) -> Any:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _to_login(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    """No session: pages redirect to the login form; an htmx poll asks the browser to go there."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = f"{PREFIX}/login?{urllib.parse.urlencode({'next': target})}"
    if request.headers.get("hx-request"):
        return Response(b"", status_code=200, headers={**SECURITY_HEADERS, "HX-Redirect": login})
    return Redirect(login, status_code=303, headers=SECURITY_HEADERS)


def _error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = exc.detail
    if exc.status_code == 403 and "CSRF" in detail:
        detail = "This form has expired or came from another site. Reload the page and try again."
    return _render_error(exc.status_code, detail)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A store outage (Redis, the record) is a 503 page; anything else is a bug: logged with its
    traceback, never shown."""
    if is_store_outage(exc):
        log.warning("dashboard: the event store does not answer", error=str(exc))
        retry_after = str(request.app.state.retry_after)
        return _render_error(503, UNAVAILABLE.capitalize() + ".", {"Retry-After": retry_after})
    log.error("dashboard: unhandled error", error_type=type(exc).__name__, exc_info=exc)
    return _render_error(500, "The dashboard failed to show this page; the gateway's log has the details.")


def _render_error(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Template(
        template_name="error.html",
        context={"status": status, "detail": detail, "prefix": PREFIX, "viewer": None, "flash": None},
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )
