"""The constraints the server applies are in /api/openapi.json, so a client written from the spec alone
knows them; booleans and integers are taken as sent; OPTIONS answers the methods the spec documents."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import error_of


def _schemas(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/openapi.json").get_json()["components"]["schemas"]  # type: ignore[no-any-return]


def _param(client: FlaskClient, path: str, name: str) -> dict[str, Any]:
    spec = client.get("/api/openapi.json").get_json()
    [found] = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
    return dict(found["schema"])


def test_the_spec_states_the_server_constraints(client: FlaskClient) -> None:
    schemas = _schemas(client)
    assert schemas["EventIn"]["properties"]["type"]["pattern"].startswith("^[a-z]")
    subject = schemas["SubjectIn"]
    assert subject["minProperties"] == 1 and subject["additionalProperties"] is False
    assert subject["properties"]["contact_id"]["type"] == "integer"  # absent, never null
    assert schemas["SubjectRef"]["additionalProperties"] is False
    create = schemas["TaskCreate"]
    assert "title" in create["required"] and create["properties"]["title"]["type"] == "string"
    stage = schemas["PipelineIn"]["properties"]["stages"]["items"]["anyOf"][0]
    assert stage["minLength"] == 1 and "pattern" in stage
    for path in ("/api/flows/{key}/stats", "/api/flows/{key}/funnel"):
        since = _param(client, path, "since")["anyOf"][0]
        assert since["format"] == "date-time" and since["pattern"].startswith("^(19")
    cursor = _param(client, "/api/contacts", "cursor")["anyOf"][0]
    assert "next_cursor" in _param(client, "/api/contacts", "cursor")["description"] and cursor["pattern"]


@pytest.mark.parametrize(("method", "path", "body", "pointer"), [
    ("post", "/api/contacts", {"email": "a@example.com", "bounced": 0}, "/bounced"),
    ("post", "/api/deals", {"score": False}, "/score"),
    ("post", "/api/flows/drip/hook", {"signed": 0}, "/signed"),
    ("put", "/api/teams/t", {"members": [{"user_id": 1, "weight": False}]}, "/members/0/weight"),
    ("post", "/api/tasks", {"title": None}, "/title"),
    ("put", "/api/pipelines/p", {"stages": [""]}, "/stages/0"),
])
def test_booleans_and_integers_are_strict(admin: FlaskClient, method: str, path: str,
                                          body: dict[str, Any], pointer: str) -> None:
    reply = getattr(admin, method)(path, json=body)
    assert reply.status_code == 422, reply.get_json()
    assert any(d["path"].startswith(pointer) for d in error_of(reply)["details"]), error_of(reply)


def test_owner_away_is_strict(admin: FlaskClient) -> None:
    person = {"email": "o@example.com", "password": "a-long-password-1", "role": "editor", "name": "O"}
    user = admin.post("/api/users", json=person).get_json()
    assert admin.patch(f"/api/owners/{user['id']}", json={"away": 0}).status_code == 422
    assert admin.patch(f"/api/owners/{user['id']}", json={"away": True}).get_json()["away"] is True


@pytest.mark.parametrize(("path", "allowed"), [
    ("/api/contacts/search", {"POST", "OPTIONS"}),
    ("/api/flows/import", {"POST", "OPTIONS"}),
    ("/api/flows/validate", {"POST", "OPTIONS"}),
    ("/api/runs/retry-failed", {"POST", "OPTIONS"}),
    ("/api/owners/search", {"POST", "OPTIONS"}),
])
def test_options_allows_what_the_spec_documents(admin: FlaskClient, path: str, allowed: set[str]) -> None:
    reply = admin.open(path, method="OPTIONS")
    assert {m.strip() for m in reply.headers["Allow"].split(",")} == allowed


def test_import_and_validate_are_not_flow_keys(editor: FlaskClient) -> None:
    document = {"format": "flowright/v1", "key": "import"}
    reply = editor.post("/api/flows", json=document)
    assert reply.status_code == 400 and error_of(reply)["details"][0]["path"] == "/key"


def test_owners_are_searched_by_a_condition(admin: FlaskClient) -> None:
    for n, away in ((1, True), (2, False)):
        person = {"email": f"o{n}@example.com", "password": "a-long-password-1", "role": "editor"}
        user = admin.post("/api/users", json=person).get_json()
        admin.patch(f"/api/owners/{user['id']}", json={"away": away})
    away = {"field": "user.away", "op": "eq", "value": True}
    found = admin.post("/api/owners/search", json={"where": away})
    assert [o["email"] for o in found.get_json()["items"]] == ["o1@example.com"]
    bad = admin.post("/api/owners/search", json={"where": {"field": "deal.stage", "op": "eq", "value": 1}})
    assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_request"
