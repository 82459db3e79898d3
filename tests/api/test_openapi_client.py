"""What a client generator needs from /api/openapi.json: readable unique operationIds, every request body
declared (as components a generator can name), the ingest key as its own scheme, and every field an
answer carries declared in its schema."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.api.flowdocs import drip


def _spec(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/openapi.json").get_json()  # type: ignore[no-any-return]


def test_operation_ids_are_the_view_names_and_unique(client: FlaskClient) -> None:
    spec = _spec(client)
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    paths = spec["paths"]
    assert paths["/api/contacts/{contact}"]["get"]["operationId"] == "get_contact"
    assert paths["/api/deals/{record_id}/timeline"]["get"]["operationId"] == "deal_timeline"
    assert paths["/hooks/{token}"]["post"]["operationId"] == "receive_hook"
    assert all(i.isidentifier() and "__" not in i for i in ids), ids


def test_request_bodies_are_declared_with_named_schemas(client: FlaskClient) -> None:
    spec = _spec(client)
    schemas = spec["components"]["schemas"]
    events = schemas["EventsBody"]["anyOf"]
    assert events[0] == {"$ref": "#/components/schemas/EventIn"}
    assert events[1]["items"] == {"$ref": "#/components/schemas/EventIn"}
    assert "EventIn" in schemas
    for path, schema in (("/api/flows/import", "ImportIn"), ("/hooks/{token}", "HookBody")):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{schema}"}


def test_events_declare_the_ingest_key_scheme(client: FlaskClient) -> None:
    spec = _spec(client)
    assert spec["components"]["securitySchemes"]["ingestKey"]["scheme"] == "bearer"
    assert {"ingestKey": []} in spec["paths"]["/api/events"]["post"]["security"]
    assert "security" not in spec["paths"]["/hooks/{token}"]["post"]


def test_import_takes_a_document_a_list_or_a_bundle(editor: FlaskClient) -> None:
    bundle = {"flows": [drip(key="three")]}
    for key, body in (("one", drip(key="one")), ("two", [drip(key="two")]), ("three", bundle)):
        reply = editor.post("/api/flows/import", json=body)
        assert reply.status_code == 200 and reply.get_json()["imported"][0]["key"] == key


def test_a_hook_body_need_not_be_an_object(editor: FlaskClient, client: FlaskClient) -> None:
    editor.post("/api/flows", json=drip())
    editor.post("/api/flows/drip/publish", json={})
    url = editor.post("/api/flows/drip/hook", json={}).get_json()["url"]
    reply = client.post("/hooks/" + url.rsplit("/", 1)[1], json=[1, 2])
    assert reply.status_code == 202, reply.get_json()


def test_owners_declare_every_field_they_answer(admin: FlaskClient) -> None:
    person = {"email": "owner@example.com", "password": "a-long-password-1", "role": "editor", "name": "O"}
    assert admin.post("/api/users", json=person).status_code == 201
    declared = set(_spec(admin)["components"]["schemas"]["OwnerOut"]["properties"])
    items = admin.get("/api/owners").get_json()["items"]
    assert items and all(set(item) <= declared for item in items), (items, declared)


def test_the_flow_key_pattern_is_documented(client: FlaskClient) -> None:
    key = _spec(client)["components"]["schemas"]["FlowDocument"]["properties"]["key"]
    assert key["pattern"] == r"^[a-z0-9][a-z0-9_\-]*$"
