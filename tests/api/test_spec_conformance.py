"""A client written from the OpenAPI document alone must be able to trust it: drive every flow, run,
webhook, event, user and token endpoint with valid input and check each answer (status and body)
against the response schema the document declares for it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from runtime import operations
from runtime.services import Services
from tests.api.conftest import drain
from tests.api.flowdocs import drip, quick


class Checked:
    """A client that validates every answer against /api/openapi.json."""

    def __init__(self, client: FlaskClient, spec: dict[str, Any]) -> None:
        self.client, self.spec = client, spec
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in spec["paths"]
        ]
        self.seen: set[tuple[str, str]] = set()

    def call(self, method: str, url: str, expect: int, **kw: Any) -> Any:
        reply = self.client.open(url, method=method, **kw)
        assert reply.status_code == expect, (method, url, reply.status_code, reply.get_json())
        path = url.split("?")[0]
        verb = method.lower()
        matches = [t for rx, t in self.templates if rx.match(path) and verb in self.spec["paths"][t]]
        template = min(matches, key=lambda t: t.count("{"))  # a literal segment beats a parameter
        responses = self.spec["paths"][template][method.lower()]["responses"]
        declared = responses.get(str(expect))
        assert declared is not None, f"{method} {template} does not declare {expect}"
        self.seen.add((method, template))
        schema = (declared.get("content") or {}).get("application/json", {}).get("schema")
        if schema is not None:
            root = {**schema, "components": self.spec["components"]}
            errors = list(Draft202012Validator(root).iter_errors(reply.get_json()))
            assert not errors, (method, template, [e.message for e in errors][:3])
        return reply.get_json()


@pytest.fixture
def api(app: Flask, admin: FlaskClient) -> Checked:
    return Checked(admin, admin.get("/api/openapi.json").get_json())


def test_answers_match_the_declared_schemas(api: Checked, client: FlaskClient, services: Services) -> None:
    c = operations.put_record(services, "contact", {"email": "spec@example.com"})["id"]
    api.call("POST", "/api/flows", 201, json=drip())
    api.call("PUT", "/api/flows/drip", 200, json=drip())
    api.call("POST", "/api/flows/import", 200, json=[quick()])
    api.call("GET", "/api/flows", 200)
    api.call("GET", "/api/flows/drip", 200)
    api.call("POST", "/api/flows/validate", 200, json=drip())
    api.call("POST", "/api/flows/drip/validate", 200)
    api.call("POST", "/api/flows/drip/publish", 200, json={"preview": True})
    api.call("POST", "/api/flows/drip/publish", 200, json={"policy": "keep"})
    api.call("POST", "/api/flows/drip/publish", 200, json={})  # unchanged
    api.call("POST", "/api/flows/quick/publish", 200, json={})
    api.call("GET", "/api/flows/drip/versions", 200)
    api.call("GET", "/api/flows/drip/export?version=1", 200)
    api.call("POST", "/api/flows/drip/simulate", 200, json={"subject": {"contact": {"email": "a@b.c"}}})
    hook = api.call("POST", "/api/flows/drip/hook", 201, json={"signed": False})
    api.call("GET", "/api/flows/drip/hook", 200)
    run_id = api.call("POST", "/api/flows/drip/enroll", 201, json={"subject": {"contact_id": c}})["run_id"]
    failing = api.call("POST", "/api/flows/quick/enroll", 201, json={"subject": {"contact_id": c}})["run_id"]
    job = api.call("POST", "/api/flows/drip/enrollments", 202, json={"limit": 1})
    drain(services)
    api.call("GET", f"/api/enrollments/{job['id']}", 200)
    page = api.call("GET", "/api/runs?limit=1", 200)
    assert page["next_cursor"]
    api.call("GET", f"/api/runs?cursor={page['next_cursor']}", 200)
    api.call("GET", f"/api/runs/{run_id}", 200)
    api.call("POST", f"/api/runs/{failing}/retry", 200)
    drain(services)
    api.call("POST", "/api/runs/retry-failed", 200, json={"flow": "quick"})
    api.call("POST", f"/api/runs/{run_id}/cancel", 200)
    api.call("POST", "/api/events", 202, json={"type": "form.submitted", "subject": {"contact_id": c}})
    api.call("POST", "/api/events", 202, json=[{"type": "form.submitted"}])
    reply = client.post("/hooks/" + hook["url"].rsplit("/", 1)[1], json={"email": "h@example.com"})
    assert reply.status_code == 202
    user = api.call("POST", "/api/users", 201, json={"email": "u@example.com", "role": "viewer"})
    api.call("GET", "/api/users", 200)
    api.call("GET", f"/api/users/{user['id']}", 200)
    api.call("PATCH", f"/api/users/{user['id']}", 200, json={"role": "editor"})
    api.call("DELETE", f"/api/users/{user['id']}", 204)
    token = api.call("POST", "/api/tokens", 201, json={"role": "viewer"})
    api.call("GET", "/api/tokens", 200)
    api.call("DELETE", f"/api/tokens/{token['id']}", 200)
    api.call("DELETE", "/api/flows/drip/hook", 204)
    api.call("GET", "/api/session", 200)
    # errors are declared too, in the one shape
    api.call("GET", "/api/runs/nope", 404)
    api.call("POST", "/api/flows/drip/publish", 422, json={"policy": "x"})
    api.call("POST", "/api/runs/nope/cancel", 404)
    api.call("POST", "/api/flows/import", 400, json=[{"key": 1}])
