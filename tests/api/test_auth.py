"""Authentication: tokens, session login with CSRF, the gate on every /api endpoint, ingest keys."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from runtime import access
from runtime.services import Services
from tests.api.conftest import error_of, token_client

PASSWORD = "correct horse battery"


def _login(client: FlaskClient, services: Services, role: str = "editor") -> str:
    access.create_user(services, f"{role}@example.com", PASSWORD, role)
    reply = client.post("/api/login", json={"email": f"{role}@example.com", "password": PASSWORD})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["authenticated"] is True
    return str(reply.get_json()["csrf_token"])


def test_anonymous_is_refused_everywhere_but_public_endpoints(app: Flask, client: FlaskClient) -> None:
    public = {"/api/login", "/api/logout", "/api/session", "/api/docs", "/api/openapi.json"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in public:
            continue
        if rule.endpoint.split(".")[0] in ("swagger", "openapi"):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<{arg}>", "x").replace(f"<int:{arg}>", "1").replace(f"<path:{arg}>", "x")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            reply = client.open(path, method=method, json={})
            assert reply.status_code == 401, (method, path, reply.status_code)
            assert error_of(reply)["code"] == "unauthorized"
            checked += 1
    assert checked >= 2


def test_public_pages_answer_without_auth(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200 and spec.get_json()["openapi"].startswith("3.1")
    assert client.get("/api/docs").status_code == 302
    assert client.get("/api/swagger").status_code == 200
    assert client.get("/healthz").get_json() == {"ok": True}
    assert client.get("/api/session").get_json()["authenticated"] is False


def test_bearer_token_and_revocation(app: Flask, services: Services) -> None:
    reader = token_client(app, services, "viewer")
    assert reader.get("/api/session").get_json()["role"] == "viewer"
    token_id = access.list_tokens(services)[0]["id"]
    access.revoke_token(services, token_id)
    reply = reader.get("/api/session")
    assert reply.status_code == 401 and error_of(reply)["code"] == "unauthorized"


def test_unknown_token_is_401_and_not_echoed(client: FlaskClient) -> None:
    reply = client.get("/api/session", headers={"Authorization": "Bearer fr_api_not-a-real-token"})
    assert reply.status_code == 401
    assert "not-a-real-token" not in reply.get_data(as_text=True)


def test_tokens_are_stored_as_sha256_only(services: Services) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from runtime.models import ApiToken

    _, secret = access.create_token(services, "admin")
    with Session(services.engine) as session:
        row = session.execute(select(ApiToken)).scalars().one()
    assert row.token_hash == access.token_hash(secret) and secret not in (row.token_hash, row.prefix)


def test_session_login_and_csrf_on_writes(client: FlaskClient, services: Services) -> None:
    csrf = _login(client, services, "admin")
    assert client.get("/api/session").get_json()["user"]["email"] == "admin@example.com"
    refused = client.post("/api/tokens", json={"role": "viewer"})
    assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_failed"
    wrong = client.post("/api/tokens", json={"role": "viewer"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    made = client.post("/api/tokens", json={"role": "viewer"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.get_json()
    client.post("/api/logout")
    assert client.get("/api/session").get_json()["authenticated"] is False
    assert client.get("/api/tokens").status_code == 401


def test_bad_login_is_401_with_the_same_message(client: FlaskClient, services: Services) -> None:
    access.create_user(services, "a@example.com", PASSWORD, "viewer")
    wrong = client.post("/api/login", json={"email": "a@example.com", "password": "wrong password"})
    unknown = client.post("/api/login", json={"email": "b@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong)["message"] == error_of(unknown)["message"]
    assert PASSWORD not in wrong.get_data(as_text=True)


def test_login_validation_error_has_pointers(client: FlaskClient) -> None:
    reply = client.post("/api/login", json={"email": 3})
    assert reply.status_code == 422
    paths = {d["path"] for d in error_of(reply)["details"]}
    assert paths == {"/email", "/password"}
    not_json = client.post("/api/login", data="x", content_type="text/plain")
    assert not_json.status_code == 422 and error_of(not_json)


def test_login_is_rate_limited(client: FlaskClient, services: Services) -> None:
    codes = [
        client.post("/api/login", json={"email": "x@example.com", "password": "p"}).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [401] * 10 and codes[-1] == 429
    reply = client.post("/api/login", json={"email": "x@example.com", "password": "p"})
    assert error_of(reply)["code"] == "too_many_requests"


def test_ingest_key_posts_events_only(ingest: FlaskClient) -> None:
    event = {"type": "form.submitted", "subject": {"contact": {"email": "a@b.c"}}}
    posted = ingest.post("/api/events", json=event)
    assert posted.status_code == 202
    assert ingest.get("/api/session").status_code == 200  # who am I still answers
    refused = ingest.get("/api/tokens")
    assert refused.status_code == 403


def test_not_found_and_method_not_allowed_are_json(client: FlaskClient, admin: FlaskClient) -> None:
    assert error_of(client.get("/api/no-such-thing"))["code"] == "not_found"
    reply = admin.delete("/api/events")
    assert reply.status_code == 405 and error_of(reply)["code"] == "method_not_allowed"


def test_change_own_password(client: FlaskClient, services: Services) -> None:
    csrf = _login(client, services, "viewer")
    headers = {"X-CSRF-Token": csrf}
    wrong = client.post("/api/session/password", json={"current_password": "nope", "new_password": "n" * 12},
                        headers=headers)
    assert wrong.status_code == 403
    short = client.post("/api/session/password", json={"current_password": PASSWORD, "new_password": "n"},
                        headers=headers)
    assert short.status_code == 422 and error_of(short)["details"][0]["path"] == "/new_password"
    done = client.post("/api/session/password", json={"current_password": PASSWORD, "new_password": "n" * 12},
                       headers=headers)
    assert done.status_code == 200
    assert access.check_password(services, "viewer@example.com", "n" * 12) is not None
    anonymous = client.application.test_client()
    assert anonymous.post("/api/session/password", json={}).status_code == 401


def test_a_token_never_outranks_its_maker(client: FlaskClient, services: Services) -> None:
    user = access.create_user(services, "maker@example.com", PASSWORD, "admin")
    access.create_user(services, "other@example.com", PASSWORD, "admin")
    _, secret = access.create_token(services, "admin", user_id=user["id"])
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/session", headers=headers).get_json()["role"] == "admin"
    access.update_user(services, user["id"], role="viewer")
    assert client.get("/api/session", headers=headers).get_json()["role"] == "viewer"
    assert client.get("/api/tokens", headers=headers).status_code == 403
