"""schemathesis against the admin API's own OpenAPI document, with a valid token: every answer is
documented (status, content type, body shape) and none is a 5xx. Seeded and bounded; ``FUZZ_SCALE``
scales the examples per operation (``make fuzz`` runs more)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from schemathesis import checks

from gateway.config import Settings
from gateway.processes.app import create_app
from tests.helpers import dead_letter, deliver, destination

TOKEN = "fuzz-admin-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DIGEST = hashlib.sha256(TOKEN.encode()).hexdigest()
EXAMPLES = int(os.environ.get("FUZZ_SCALE", "1")) * 25
#: Conformance (every answer documented: status, content type, body, headers), no 5xx, schema-invalid
#: input refused, and auth enforced. Not "schema-valid input accepted": times and filters have a grammar
#: (RFC 3339 or 2h) that JSON Schema cannot state, so a valid string may still be a 422 naming it.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]


def admin_schema(redis_url: str) -> tuple[schemathesis.schemas.BaseSchema, list[str], list[str]]:
    """The document of an app with three events, each with a dead letter (and so an issue), a
    destination (``billing``, paused, holding a delivery of the first event) and two forwards for route
    tests, one with a filter and a transformation (nothing is sent to them): the schema, the events' ids
    and the dead letters' ids."""
    config = Settings.model_validate(
        {
            "redis": {"url": redis_url},
            "sources": {"github": {"provider": "github", "secret": "It's a Secret to Everybody"}},
            "admin": {
                "session_secret": "a-fuzzing-session-secret-of-length",
                "tokens": [{"name": "fuzz", "scopes": ["admin"], "token": "sha256:" + DIGEST}],
            },
            "forward": [
                {
                    "name": "mirror",
                    "source": "github",
                    "url": "http://127.0.0.1:9/mirror",
                    "filter": {"body": {"n": {"$gte": 1}}},
                    "transform": "tests.integration.shapes:declines",
                    "headers": {"Authorization": "Bearer fuzz-forward-secret"},
                },
                {"name": "plain", "source": "github", "url": "http://127.0.0.1:9/plain"},
            ],
        }
    )
    app = create_app(config)
    with TestClient(app) as client:  # some events and dead letters to find
        events = [deliver(client, n) for n in range(3)]
        entries = [dead_letter(redis_url, event_id) for event_id in events]
        destination(redis_url, "billing", held=events[:1])
    return schemathesis.openapi.from_asgi("/api/v1/schema/openapi.json", app, headers=AUTH), events, entries


def test_every_answer_is_documented_and_none_is_a_5xx(redis_url):
    schema, _, _ = admin_schema(redis_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=AUTH, checks=CHECKS)

        exercise()


def test_every_operation_answers_its_documented_success(redis_url):
    """Generated ids mostly name nothing (404), so each operation is also called with ids that exist:
    its 2xx body, status and content type are checked against the document too."""
    schema, events, entries = admin_schema(redis_url)
    called: set[tuple[str, str]] = set()

    def call(method: str, path: str, status: int, **parts: Any) -> Any:
        response = schema[path][method].Case(**parts).call_and_validate(headers=AUTH, checks=CHECKS)
        assert response.status_code == status, (method, path, response.text)
        called.add((method, path))
        return None if status == 204 else response.json()

    event = {"event_id": events[0]}
    call("GET", "/api/v1/events", 200, query={"limit": 2})
    call("GET", "/api/v1/events/{event_id}", 200, path_parameters=event)
    call("POST", "/api/v1/events/{event_id}/replay", 202, path_parameters=event, body={})
    # mirror's filter declines the first event ({"n": 0}); its transformation declines {"n": 2}.
    routes = call("GET", "/api/v1/events/{event_id}/routes", 200, path_parameters=event)["items"]
    outcomes = {verdict["consumer"]: verdict["outcome"] for verdict in routes}
    assert outcomes["mirror"] == "filtered" and outcomes["plain"] == "delivered"
    described = {"source": "github", "body": '{"n": 2}', "headers": ["X-GitHub-Event: push"], "query": "a=1"}
    routes = call("POST", "/api/v1/routes/test", 200, body=described)["items"]
    outcomes = {verdict["consumer"]: verdict["outcome"] for verdict in routes}
    assert outcomes["mirror"] == "filtered" and outcomes["plain"] == "delivered"
    started = call("POST", "/api/v1/replays", 202, body={"source": "github", "dry_run": True})
    replay = {"replay_id": started["replay_id"]}
    call("GET", "/api/v1/replays/{replay_id}", 200, path_parameters=replay)
    call("POST", "/api/v1/replays/{replay_id}/cancel", 202, path_parameters=replay)
    call("GET", "/api/v1/dlq", 200)
    call("GET", "/api/v1/dlq/{entry_id}", 200, path_parameters={"entry_id": entries[0]})
    issue_id = call("GET", "/api/v1/issues", 200)["items"][0]["id"]
    call("GET", "/api/v1/issues/{issue_id}", 200, path_parameters={"issue_id": issue_id})
    acknowledge = {"issue_id": issue_id, "action": "ack"}
    call("POST", "/api/v1/issues/{issue_id}/{action}", 200, path_parameters=acknowledge)
    call("POST", "/api/v1/dlq/{entry_id}/retry", 202, path_parameters={"entry_id": entries[0]})
    call("DELETE", "/api/v1/dlq/{entry_id}", 204, path_parameters={"entry_id": entries[1]})
    retry = {"issue_id": issue_id, "action": "retry"}
    call("POST", "/api/v1/issues/{issue_id}/{action}", 202, path_parameters=retry)
    call("POST", "/api/v1/dlq/retry", 202, body={})
    call("POST", "/api/v1/dlq/purge", 200, body={})
    call("GET", "/api/v1/stats", 200)
    lane = {"name": "billing"}
    assert [d["consumer"] for d in call("GET", "/api/v1/destinations", 200)["items"]] == ["billing"]
    call("GET", "/api/v1/destinations/{name}", 200, path_parameters=lane)
    # The first event's delivery, and those the retries above sent to the paused billing.
    assert call("POST", "/api/v1/destinations/{name}/dead-letter", 200, path_parameters=lane)["moved"] >= 1
    call("POST", "/api/v1/destinations/{name}/resume", 202, path_parameters=lane)
    call("POST", "/api/v1/destinations/{name}/pause", 202, path_parameters=lane)
    documented = {(result.ok().method.upper(), result.ok().path) for result in schema.get_all_operations()}
    assert called == documented


def test_the_document_is_valid_openapi(redis_url):
    from openapi_spec_validator import validate

    config = Settings.model_validate(
        {
            "redis": {"url": redis_url},
            "admin": {"tokens": [{"name": "fuzz", "scopes": ["read"], "token": "sha256:" + DIGEST}]},
        }
    )
    with TestClient(create_app(config)) as client:
        document = client.get("/api/v1/schema/openapi.json", headers=AUTH).json()
    validate(document)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The secret of an [[admin.tokens]] entry.",
    }
