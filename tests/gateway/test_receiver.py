"""The receiver in-process (Litestar's TestClient over fakeredis): statuses, problems, order of checks."""

from __future__ import annotations

import fakeredis
import pytest
import redis
from litestar.testing import TestClient

from gateway.config import Settings
from gateway.processes.app import create_app
from tests.helpers import github_signature

SECRET = "It's a Secret to Everybody"


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Hub-Signature-256": github_signature(body, secret),
        "X-GitHub-Delivery": "abc",
        "X-GitHub-Event": "push",
    }


def settings(**sources) -> Settings:
    return Settings.model_validate(
        {
            "redis": {"url": "redis://unused:1/0"},
            "gateway": {"max_body_bytes": 4096},
            "sources": sources or {"github": {"provider": "github", "secret": SECRET}},
        }
    )


@pytest.fixture
def client():
    app = create_app(settings(), client=fakeredis.FakeAsyncRedis())
    with TestClient(app) as test_client:
        yield test_client


def test_accepts_then_reports_duplicate(client):
    body = b'{"hello": "world"}'
    first = client.post("/webhooks/github", content=body, headers=sign(body))
    again = client.post("/webhooks/github", content=body, headers=sign(body))
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"event_id": first.json()["event_id"], "duplicate": True}


def test_unknown_source_is_404_problem(client):
    response = client.post("/webhooks/gitlab", content=b"{}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:hookgate:problem:not-found"


def test_bad_signature_is_401_saying_why(client):
    body = b"{}"
    wrong = client.post("/webhooks/github", content=body, headers=sign(body, "other"))
    missing = client.post("/webhooks/github", content=body)
    assert wrong.status_code == missing.status_code == 401
    assert wrong.json()["type"] == "urn:hookgate:problem:signature-mismatch"
    assert missing.json()["type"] == "urn:hookgate:problem:missing-header"
    assert "x-hub-signature-256" in missing.json()["detail"].lower()


def test_size_is_checked_before_the_signature(client):
    body = b"x" * 5000
    response = client.post("/webhooks/github", content=body, headers={"X-Hub-Signature-256": "sha256=00"})
    assert response.status_code == 413
    assert response.json()["type"] == "urn:hookgate:problem:too-large"


def test_per_source_limit_overrides_the_global_one():
    app = create_app(
        settings(
            small={"provider": "github", "secret": SECRET, "max_body_bytes": 10},
            large={"provider": "github", "secret": SECRET, "max_body_bytes": 100_000},
        ),
        client=fakeredis.FakeAsyncRedis(),
    )
    body = b"y" * 50_000
    with TestClient(app) as client:
        assert client.post("/webhooks/small", content=b"x" * 11, headers=sign(b"x" * 11)).status_code == 413
        assert client.post("/webhooks/large", content=body, headers=sign(body)).status_code == 202


class _BrokenRedis(fakeredis.FakeAsyncRedis):
    async def evalsha(self, *args, **kwargs):
        raise redis.exceptions.ResponseError("OOM command not allowed when used memory > 'maxmemory'.")


def test_redis_out_of_memory_is_503_with_retry_after():
    app = create_app(settings(), client=_BrokenRedis())
    body = b"{}"
    with TestClient(app) as client:
        response = client.post("/webhooks/github", content=body, headers=sign(body))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "OOM" not in response.text


def test_method_not_allowed_is_problem_json(client):
    response = client.get("/webhooks/github")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")


class _BuggyRedis(fakeredis.FakeAsyncRedis):
    async def evalsha(self, *args, **kwargs):
        raise KeyError("a bug, not an outage")


def test_a_bug_storing_a_verified_delivery_asks_the_sender_to_retry_without_details():
    """Never a 500 for a genuine delivery: the sender retries (the bug is in the gateway's log)."""
    app = create_app(settings(), client=_BuggyRedis())
    body = b"{}"
    with TestClient(app) as client:
        response = client.post("/webhooks/github", content=body, headers=sign(body))
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "KeyError" not in response.text and "Traceback" not in response.text
