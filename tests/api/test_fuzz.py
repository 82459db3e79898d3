"""Schemathesis over the whole /api/openapi.json, in process (WSGI): fuzzed input never gets a 5xx,
every 4xx carries the DESIGN §8 error shape, and every answer matches the schema the document
declares for its status. Kept small (a few examples per operation)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import response_schema_conformance

from runtime import access, jobs, operations, publish
from tests.api.flowdocs import drip
from tests.durable.conftest import Clock
from tests.durable.support import make_services

EXAMPLES = int(os.environ.get("FLOWRIGHT_FUZZ_EXAMPLES", "12"))
# Operations that would take the fuzzer's own credentials away; tested by hand in test_roles/test_auth.
SKIP = {("DELETE", "/api/tokens/{token_id}"), ("POST", "/api/logout")}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, redis_server_url: str) -> Iterator[tuple[Flask, str]]:
    from builder.app import create_app

    tmp: Path = tmp_path_factory.mktemp("fuzz")
    old_home = os.environ.get("FLOWRIGHT_HOME")
    os.environ["FLOWRIGHT_HOME"] = str(tmp / "home")
    services = make_services(f"sqlite:///{tmp / 'fuzz.db'}", redis_server_url, Clock())
    publish.publish(services, "drip", document=drip())
    operations.put_record(services, "contact", {"email": "fuzz@example.com"})
    app = create_app({"SERVICES": services, "TESTING": True, "RATELIMIT_ENABLED": False})
    _, secret = access.create_token(services, "admin", name="fuzz")
    yield app, secret
    jobs.install(None)
    services.close()
    if old_home is None:
        os.environ.pop("FLOWRIGHT_HOME", None)
    else:
        os.environ["FLOWRIGHT_HOME"] = old_home


def _check(response: Any, where: str) -> str | None:
    if response.status_code >= 500:
        return f"{where}: {response.status_code} {response.text[:300]}"
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or set(error) != {"code", "message", "details"}:
            return f"{where}: {response.status_code} without the error shape: {response.text[:200]}"
    return None


def _fuzz(operation: Any, secret: str, failures: list[str]) -> None:
    where = f"{operation.method.upper()} {operation.path}"

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
        response = case.call()
        problem = _check(response, where)
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        except BaseException as exc:  # schemathesis raises a FailureGroup
            problem = problem or f"{where}: {response.status_code} does not match the spec: {str(exc)[:300]}"
        if problem:
            failures.append(problem)

    call()


def test_openapi_is_3_1_and_fuzzing_finds_no_5xx(fuzz_app: tuple[Flask, str]) -> None:
    app, secret = fuzz_app
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    operations_seen = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        operations_seen += 1
        _fuzz(operation, secret, failures)
    assert operations_seen >= 30
    assert not failures, "\n".join(sorted(set(failures))[:20])
