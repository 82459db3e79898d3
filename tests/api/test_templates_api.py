"""GET /api/templates and POST /api/templates/<name>/install: the library through the API, with the
checks of `flowright templates install` (runtime.bundles.install)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from runtime.bundles import list_bundles


def _draft(editor: FlaskClient, key: str) -> dict[str, Any]:
    answer = editor.get(f"/api/flows/{key}")
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json()["document"])


def _node(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(node for node in document["nodes"] if node["id"] == node_id)


def test_list_gives_every_bundle_with_its_params_and_slots(viewer: FlaskClient) -> None:
    answer = viewer.get("/api/templates")
    assert answer.status_code == 200
    templates = {t["name"]: t for t in answer.get_json()["templates"]}
    assert sorted(templates) == [b.name for b in list_bundles()]
    quote = templates["quote-request"]
    assert [f["key"] for f in quote["flows"]] == ["quote-request"]
    reply = next(p for p in quote["params"] if p["name"] == "reply_within")
    assert reply == {"name": "reply_within", "type": "duration", "default": "P2D", "required": False,
                     "description": reply["description"]}
    assert {s["connector"] for s in quote["credentials"]} == {"mail", "slack"}
    assert quote["version"] and quote["practice"]


def test_install_creates_drafts_with_the_given_params(editor: FlaskClient) -> None:
    answer = editor.post("/api/templates/quote-request/install", json={"params": {"reply_within": "PT4H"}})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["template"] == "quote-request"
    assert body["flows"] == [{"key": "quote-request", "created": True}]
    assert {s["connector"] for s in body["credentials"]} == {"mail", "slack"}
    document = _draft(editor, "quote-request")
    assert _node(document, "prepare_task")["params"]["due_in"] == "PT4H"
    assert _node(document, "wait_done")["timeout"] == "PT4H"
    assert editor.get("/api/flows/quote-request").get_json()["published_version"] is None  # a draft only


def test_existing_flows_are_a_409_unless_replace(editor: FlaskClient) -> None:
    assert editor.post("/api/templates/quote-request/install", json={}).status_code == 201
    again = editor.post("/api/templates/quote-request/install", json={"params": {"reply_within": "P1D"}})
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "flows_exist" and error["details"][0]["path"] == "/replace"
    assert _node(_draft(editor, "quote-request"), "prepare_task")["params"]["due_in"] == "P2D"

    replaced = editor.post("/api/templates/quote-request/install",
                           json={"params": {"reply_within": "P1D"}, "replace": True})
    assert replaced.status_code == 201
    assert replaced.get_json()["flows"] == [{"key": "quote-request", "created": False}]
    assert _node(_draft(editor, "quote-request"), "prepare_task")["params"]["due_in"] == "P1D"


def test_bad_params_are_a_422_pointing_at_each_one_and_nothing_is_installed(editor: FlaskClient) -> None:
    answer = editor.post("/api/templates/quote-request/install",
                         json={"params": {"reply_within": "two days", "colour": "red"}})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "params_invalid"
    assert sorted(d["path"] for d in error["details"]) == ["/params/colour", "/params/reply_within"]
    assert editor.get("/api/flows/quote-request").status_code == 404


def test_a_value_of_the_wrong_json_type_points_at_its_name(editor: FlaskClient) -> None:
    answer = editor.post("/api/templates/lead-scoring/install", json={"params": {"mql_threshold": "50"}})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"] == [
        {"path": "/params/mql_threshold", "message": answer.get_json()["error"]["details"][0]["message"]}]
    assert "must be a whole number" in answer.get_json()["error"]["details"][0]["message"]


def test_unknown_template_is_a_404(editor: FlaskClient) -> None:
    answer = editor.post("/api/templates/no-such-bundle/install", json={})
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"


def test_a_malformed_body_is_a_422_with_a_pointer(editor: FlaskClient) -> None:
    answer = editor.post("/api/templates/quote-request/install", json={"params": [], "replace": "perhaps"})
    assert answer.status_code == 422
    paths = {d["path"] for d in answer.get_json()["error"]["details"]}
    assert {"/params", "/replace"} <= paths


def test_installing_needs_the_editor_role(viewer: FlaskClient, client: FlaskClient) -> None:
    assert viewer.post("/api/templates/quote-request/install", json={}).status_code == 403
    assert client.get("/api/templates").status_code == 401


def test_the_endpoints_are_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    install = spec["paths"]["/api/templates/{name}/install"]["post"]
    assert install["operationId"] == "install_template" and "201" in install["responses"]
    assert "requestBody" in install and install.get("security")
    assert spec["paths"]["/api/templates"]["get"]["operationId"] == "list_templates"
