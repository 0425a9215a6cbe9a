"""schemathesis against the admin API's own OpenAPI document, with a valid token: every answer is
documented (status, content type, body shape) and none is a 5xx. Seeded and bounded; ``FUZZ_SCALE``
scales the examples per operation (``make fuzz`` runs more)."""

from __future__ import annotations

import hashlib
import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from schemathesis import checks

from gateway.config.settings import Settings
from gateway.ingest.app import create_app
from tests.helpers import dead_letter, deliver

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


def admin_schema(redis_url: str) -> schemathesis.schemas.BaseSchema:
    config = Settings.model_validate(
        {
            "redis": {"url": redis_url},
            "sources": {"github": {"provider": "github", "secret": "It's a Secret to Everybody"}},
            "admin": {
                "session_secret": "a-fuzzing-session-secret-of-length",
                "tokens": [{"name": "fuzz", "scopes": ["admin"], "token": "sha256:" + DIGEST}],
            },
        }
    )
    app = create_app(config)
    with TestClient(app) as client:  # some events and dead letters to find
        for n in range(3):
            dead_letter(redis_url, deliver(client, n))
    return schemathesis.openapi.from_asgi("/api/v1/schema/openapi.json", app, headers=AUTH)


def test_every_answer_is_documented_and_none_is_a_5xx(redis_url):
    schema = admin_schema(redis_url)
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
