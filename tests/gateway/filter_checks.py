"""What the filter tests share: a spec checked against a body (JSON unless bytes) and the rest of a
request, and the reason it declined."""

from __future__ import annotations

import json
from typing import Any

from gateway.config.filtering import Request, Verdict, compile_filter


def check(spec: dict[str, Any], body: object = None, **request: Any) -> Verdict:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return compile_filter(spec).check(
        Request(raw, list(request.get("headers", ())), request.get("query", ""), request.get("path", "/"))
    )


def body_matches(spec: object, body: object) -> bool:
    return check({"body": spec}, body).matched


def reason(spec: dict[str, Any], body: object = None, **request: Any) -> str | None:
    verdict = check(spec, body, **request)
    assert not verdict.matched
    return verdict.reason
