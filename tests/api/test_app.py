"""The app factory: the OpenAPI document declares security on every non-public operation, the client
address behind proxies, and oversized bodies get the JSON error shape."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from runtime.services import Services
from tests.api.conftest import error_of

PUBLIC = {"/api/login", "/api/logout", "/api/session", "/hooks/{token}"}


def test_every_private_operation_declares_security(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "session", "ingestKey"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), (method, path)
            if path not in PUBLIC:
                assert operation.get("security"), (method, path)


def test_proxied_client_addresses_get_their_own_rate_limit(services: Services) -> None:
    from builder.app import create_app

    config = {"SERVICES": services, "TESTING": True, "PROXIES": 1, "RATE_LIMIT_LOGIN": "2 per minute"}
    app = create_app(config)
    client = app.test_client()
    body = {"email": "x@example.com", "password": "nope"}

    def login(address: str) -> int:
        return client.post("/api/login", json=body, headers={"X-Forwarded-For": address}).status_code

    assert [login("10.0.0.1") for _ in range(3)] == [401, 401, 429]
    assert login("10.0.0.2") == 401


def test_oversized_body_is_a_json_413(app: Flask, editor: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    reply = editor.post("/api/flows", data=b"{" + b" " * 2000 + b"}", content_type="application/json")
    assert reply.status_code == 413 and error_of(reply)["code"] == "request_entity_too_large"


def test_deeply_nested_json_is_a_4xx(editor: FlaskClient) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    for path in ("/api/flows", "/api/events", "/api/flows/validate"):
        reply = editor.post(path, data=deep, content_type="application/json")
        assert 400 <= reply.status_code < 500, (path, reply.status_code)
        error_of(reply)


def test_deep_but_parseable_documents_are_refused_or_kept_never_a_5xx(editor: FlaskClient) -> None:
    nested: object = "leaf"
    for _ in range(900):
        nested = {"x": nested}
    document = {"format": "flowright/v1", "key": "deep", "nodes": [], "ui": nested}
    for method, path in (("POST", "/api/flows"), ("POST", "/api/flows/validate"), ("PUT", "/api/flows/deep")):
        reply = editor.open(path, method=method, json=document)
        assert reply.status_code < 500, (path, reply.status_code)
