"""The role matrix: viewers read, editors write flows and runs but manage no users or tokens, admins all."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime import access
from runtime.services import Services
from tests.api.conftest import error_of, token_client
from tests.api.flowdocs import drip

# (method, path, body) -> the weakest role allowed
MATRIX: list[tuple[str, str, Any, str]] = [
    ("GET", "/api/flows", None, "viewer"),
    ("GET", "/api/flows/drip", None, "viewer"),
    ("GET", "/api/flows/drip/versions", None, "viewer"),
    ("GET", "/api/flows/drip/export", None, "viewer"),
    ("POST", "/api/flows/validate", drip(), "viewer"),
    ("POST", "/api/flows/drip/simulate", {"subject": {"contact": {"email": "a@b.c"}}}, "viewer"),
    ("GET", "/api/runs", None, "viewer"),
    ("POST", "/api/flows", drip(key="other"), "editor"),
    ("PUT", "/api/flows/drip", drip(), "editor"),
    ("POST", "/api/flows/import", [drip(key="third")], "editor"),
    ("POST", "/api/flows/drip/publish", {}, "editor"),
    ("POST", "/api/flows/drip/hook", {}, "editor"),
    ("GET", "/api/flows/drip/hook", None, "editor"),
    ("POST", "/api/runs/retry-failed", {}, "editor"),
    ("POST", "/api/flows/drip/enrollments", {}, "editor"),
    ("POST", "/api/events", {"type": "form.submitted"}, "editor"),
    ("GET", "/api/users", None, "admin"),
    ("POST", "/api/users", {"email": "new@example.com", "role": "viewer"}, "admin"),
    ("GET", "/api/tokens", None, "admin"),
    ("POST", "/api/tokens", {"role": "viewer"}, "admin"),
]
ROLES = ("viewer", "editor", "admin")


@pytest.fixture
def clients(app: Flask, services: Services) -> dict[str, FlaskClient]:
    found = {role: token_client(app, services, role) for role in ROLES}
    found["admin"].post("/api/flows", json=drip())
    found["admin"].post("/api/flows/drip/publish", json={})
    return found


@pytest.mark.parametrize(("method", "path", "body", "weakest"), MATRIX)
def test_role_matrix(
    clients: dict[str, FlaskClient], method: str, path: str, body: Any, weakest: str
) -> None:
    for role in ROLES:
        reply = clients[role].open(path, method=method, json=body)
        allowed = ROLES.index(role) >= ROLES.index(weakest)
        if allowed:
            assert reply.status_code not in (401, 403) and reply.status_code < 500, (role, method, path)
        else:
            assert reply.status_code == 403, (role, method, path, reply.status_code)
            assert error_of(reply)["code"] == "forbidden"


def test_users_crud_by_admin(admin: FlaskClient, editor: FlaskClient, services: Services) -> None:
    made = admin.post("/api/users", json={"email": "Ann@Example.com", "role": "editor", "password": "x" * 12})
    assert made.status_code == 201 and made.get_json()["email"] == "ann@example.com"
    assert "password" not in made.get_json() and "password_hash" not in made.get_json()
    user_id = made.get_json()["id"]
    assert admin.post("/api/users", json={"email": "ann@example.com"}).status_code == 409
    assert admin.patch(f"/api/users/{user_id}", json={"role": "viewer"}).get_json()["role"] == "viewer"
    assert admin.get(f"/api/users/{user_id}").get_json()["role"] == "viewer"
    assert admin.patch(f"/api/users/{user_id}", json={"role": "boss"}).status_code == 422
    assert admin.post("/api/users", json={"email": "short@example.com", "password": "x"}).status_code == 422
    assert editor.delete(f"/api/users/{user_id}").status_code == 403
    assert admin.delete(f"/api/users/{user_id}").status_code == 204
    assert admin.get(f"/api/users/{user_id}").status_code == 404
    assert admin.get("/api/users/0").status_code == 422


def test_the_last_admin_stays(admin: FlaskClient, services: Services) -> None:
    only = access.create_user(services, "boss@example.com", "y" * 12, "admin")
    reply = admin.patch(f"/api/users/{only['id']}", json={"role": "viewer"})
    assert reply.status_code == 409 and "last admin" in error_of(reply)["message"]
    assert admin.delete(f"/api/users/{only['id']}").status_code == 409


def test_tokens_endpoints_show_the_secret_once(admin: FlaskClient, app: Flask) -> None:
    made = admin.post("/api/tokens", json={"role": "editor", "name": "ci"}).get_json()
    assert made["token"].startswith("fr_api_") and made["prefix"] == made["token"][:12]
    listed = admin.get("/api/tokens").get_json()["tokens"]
    assert all("token" not in t for t in listed) and made["token"] not in str(listed)
    fresh = app.test_client()
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert fresh.get("/api/flows", headers=headers).status_code == 200
    used = [t for t in admin.get("/api/tokens").get_json()["tokens"] if t["id"] == made["id"]]
    assert used[0]["last_used_at"] is not None
    assert admin.delete(f"/api/tokens/{made['id']}").get_json()["revoked"] is True
    assert fresh.get("/api/flows", headers=headers).status_code == 401
    assert admin.delete("/api/tokens/99999").status_code == 404
    ingest = admin.post("/api/tokens", json={"kind": "ingest"}).get_json()
    assert ingest["token"].startswith("fr_ingest_")
