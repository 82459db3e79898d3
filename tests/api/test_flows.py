"""Flows over HTTP: drafts with problems, validate, publish with policy and preview, versions,
export/import, simulate (the same JSON as flowright simulate --json)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import error_of
from tests.api.flowdocs import drip

ROOT = Path(__file__).resolve().parents[2]


def test_create_get_list_and_update_a_draft(editor: FlaskClient, viewer: FlaskClient) -> None:
    made = editor.post("/api/flows", json=drip())
    assert made.status_code == 201 and made.get_json()["valid"] is True, made.get_json()
    document = drip()
    document["name"] = "Drip v2"
    assert editor.put("/api/flows/drip", json=document).status_code == 200
    listed = viewer.get("/api/flows").get_json()["flows"]
    assert [(f["key"], f["name"], f["published_version"]) for f in listed] == [("drip", "Drip v2", None)]
    found = viewer.get("/api/flows/drip").get_json()
    assert found["document"]["name"] == "Drip v2" and found["problems"] == []


def test_a_draft_with_problems_is_kept_and_the_problems_have_pointers(editor: FlaskClient) -> None:
    broken = drip()
    broken["nodes"][0]["next"] = "nowhere"
    saved = editor.post("/api/flows", json=broken).get_json()
    assert saved["valid"] is False
    assert any(p["path"].startswith("/nodes/0") for p in saved["problems"]), saved["problems"]
    refused = editor.post("/api/flows/drip/publish", json={})
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["code"] == "flow_invalid" and any(d["path"].startswith("/nodes/0") for d in error["details"])


def test_key_mismatch_and_bad_bodies_are_4xx(editor: FlaskClient) -> None:
    reply = editor.put("/api/flows/other", json=drip())
    assert reply.status_code == 400 and error_of(reply)["details"][0]["path"] == "/key"
    assert editor.post("/api/flows", json={"key": "Bad Key!"}).status_code == 400
    not_json = editor.post("/api/flows", data="not json", content_type="application/json")
    assert not_json.status_code in (400, 422)
    assert editor.post("/api/flows", json=[1, 2]).status_code == 422
    assert editor.get("/api/flows/missing").status_code == 404


def test_validate_without_saving(viewer: FlaskClient, editor: FlaskClient) -> None:
    broken = drip()
    del broken["start"]
    reply = viewer.post("/api/flows/validate", json=broken).get_json()
    assert reply["valid"] is False and reply["problems"]
    assert viewer.get("/api/flows").get_json()["flows"] == []
    editor.post("/api/flows", json=drip())
    assert viewer.post("/api/flows/drip/validate").get_json() == {"valid": True, "problems": []}


def test_publish_preview_versions_and_export(editor: FlaskClient, viewer: FlaskClient) -> None:
    editor.post("/api/flows", json=drip())
    preview = editor.post("/api/flows/drip/publish", json={"preview": True}).get_json()
    empty = {"version": 1, "waiting": {}, "cannot_move": [], "blocked": [], "reenter": []}
    assert preview["preview"] == empty
    first = editor.post("/api/flows/drip/publish", json={"policy": "keep"}).get_json()
    assert first["version"] == 1 and first["policy"] == "keep"
    changed = drip(event="form.sent")
    editor.put("/api/flows/drip", json=changed)
    assert editor.post("/api/flows/drip/publish", json={"policy": "migrate"}).get_json()["version"] == 2
    versions = viewer.get("/api/flows/drip/versions").get_json()["versions"]
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["author"].startswith("token:")
    old = viewer.get("/api/flows/drip/export?version=1").get_json()
    assert old["triggers"][0]["event"] == "form.submitted"
    assert viewer.get("/api/flows/drip/export").get_json() == changed
    assert viewer.get("/api/flows/drip/export?version=9").status_code == 404
    assert viewer.get("/api/flows/drip/export?version=abc").status_code == 422
    bad = editor.post("/api/flows/drip/publish", json={"policy": "delete-all"})
    assert bad.status_code == 422 and error_of(bad)["details"][0]["path"] == "/policy"


def test_import_documents_and_bundles(editor: FlaskClient, viewer: FlaskClient) -> None:
    reply = editor.post("/api/flows/import", json=[drip(key="a"), drip(key="b")]).get_json()
    assert [i["key"] for i in reply["imported"]] == ["a", "b"]
    bundle = {"flows": [drip(key="c")]}
    assert editor.post("/api/flows/import", json=bundle).get_json()["imported"][0]["created"] is True
    bad = editor.post("/api/flows/import", json=[drip(key="d"), {"key": 5}])
    assert bad.status_code == 400 and error_of(bad)["details"][0]["path"] == "/1/key"
    assert [f["key"] for f in viewer.get("/api/flows").get_json()["flows"]] == ["a", "b", "c"]


def test_delete_only_unpublished(editor: FlaskClient) -> None:
    editor.post("/api/flows", json=drip(key="gone"))
    assert editor.delete("/api/flows/gone").status_code == 204
    editor.post("/api/flows", json=drip())
    editor.post("/api/flows/drip/publish", json={})
    assert editor.delete("/api/flows/drip").status_code == 409


def test_simulate_matches_the_cli_json(editor: FlaskClient, viewer: FlaskClient, tmp_path: Path) -> None:
    from builder.cli import main

    document = json.loads((ROOT / "tests/cases/delay_duration.json").read_text())["flow"]
    editor.post("/api/flows", json=document)
    subject = {"contact": {"email": "a@example.com", "first_name": "Ann"}}
    start = "2026-03-02T09:00:00Z"
    reply = viewer.post(f"/api/flows/{document['key']}/simulate", json={"subject": subject, "start": start})
    assert reply.status_code == 200, reply.get_json()
    flow_file = tmp_path / "flow.json"
    flow_file.write_text(json.dumps(document))
    cli = CliRunner().invoke(
        main, ["simulate", str(flow_file), "--subject", json.dumps(subject), "--start", start, "--json"]
    )
    assert cli.exit_code == 0, cli.output
    assert reply.get_json() == json.loads(cli.output)


def test_simulate_bad_input_is_4xx(editor: FlaskClient) -> None:
    editor.post("/api/flows", json=drip())
    bad_start = editor.post("/api/flows/drip/simulate", json={"subject": {}, "start": "yesterday"})
    assert 400 <= bad_start.status_code < 500
    assert editor.post("/api/flows/drip/simulate", json={"events": "x"}).status_code == 422
    invalid = editor.post("/api/flows/drip/simulate", json={"document": {"key": "x"}})
    assert invalid.status_code == 422 and error_of(invalid)["code"] == "flow_invalid"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.sampled_from(["P1D", "-P1D", "2026-03-02T09:00:00Z", "email.opened", "first", "wait"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["contact", "deal", "email", "type", "after", "at", "data", "first", "timezone"])
        | st.text(max_size=4), inner, max_size=4),
    max_leaves=10,
)
SIM_BODIES = st.fixed_dictionaries(
    {}, optional={k: JSON for k in ("subject", "trigger", "events", "start", "fail", "document")}
)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=SIM_BODIES)
def test_simulate_never_answers_5xx(editor: FlaskClient, body: dict[str, object]) -> None:
    document = json.loads((ROOT / "tests/cases/delay_duration.json").read_text())["flow"]
    editor.put(f"/api/flows/{document['key']}", json=document)
    reply = editor.post(f"/api/flows/{document['key']}/simulate", json=body)
    assert reply.status_code in (200, 400, 422), reply.get_json()
    if reply.status_code != 200:
        error_of(reply)
