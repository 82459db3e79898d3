"""Pipelines, teams and owners over HTTP."""

from __future__ import annotations

from flask.testing import FlaskClient

from runtime import access, publish
from runtime.services import Services
from tests.api.conftest import drain, error_of


def test_pipeline_stages_guard_deals(editor: FlaskClient, viewer: FlaskClient) -> None:
    made = editor.put("/api/pipelines/sales", json={"name": "Sales", "stages": ["new", "proposal", "won"]})
    assert made.status_code == 201, made.get_json()
    assert [s["key"] for s in made.get_json()["stages"]] == ["new", "proposal", "won"]
    deal = editor.post("/api/deals", json={"pipeline": "sales", "stage": "proposal"})
    assert deal.status_code == 201
    wrong = editor.post("/api/deals", json={"pipeline": "sales", "stage": "delivered"})
    assert wrong.status_code == 422 and error_of(wrong)["details"][0]["path"] == "/stage"
    drop = editor.put("/api/pipelines/sales", json={"stages": ["new", "won"]})
    assert drop.status_code == 409 and "proposal" in error_of(drop)["message"]
    assert editor.delete("/api/pipelines/sales").status_code == 409
    assert viewer.get("/api/pipelines").get_json()["pipelines"][0]["name"] == "Sales"
    assert viewer.put("/api/pipelines/x", json={"stages": ["a"]}).status_code == 403
    assert editor.put("/api/pipelines/x", json={"stages": []}).status_code == 422


def test_teams_and_away_owners(editor: FlaskClient, viewer: FlaskClient, services: Services) -> None:
    ana = access.create_user(services, "ana@example.com", "long enough password", "editor")
    bob = access.create_user(services, "bob@example.com", "long enough password", "viewer")
    team = editor.put(
        "/api/teams/sales", json={"members": [{"user_id": ana["id"], "weight": 2}, {"user_id": bob["id"]}]}
    )
    assert team.status_code == 201, team.get_json()
    assert [(m["email"], m["weight"]) for m in team.get_json()["members"]] == [
        ("ana@example.com", 2),
        ("bob@example.com", 1),
    ]
    away = editor.patch(f"/api/owners/{bob['id']}", json={"away": True})
    assert (
        away.status_code == 200 and away.get_json()["away"] is True and "password_hash" not in away.get_json()
    )
    present = viewer.get("/api/owners?away=false").get_json()["items"]
    assert [o["email"] for o in present] == ["ana@example.com"]
    ghost = editor.put("/api/teams/sales", json={"members": [{"user_id": 999}]})
    assert ghost.status_code == 422 and error_of(ghost)["details"][0]["path"] == "/members/0/user_id"
    assert editor.delete("/api/teams/sales").get_json() == {"deleted": True}
    assert viewer.get("/api/teams/sales").status_code == 404


def test_assign_owner_follows_the_team_and_skips_away_people(
    editor: FlaskClient, viewer: FlaskClient, services: Services
) -> None:
    ana = access.create_user(services, "ana@example.com", "long enough password", "editor")
    bob = access.create_user(services, "bob@example.com", "long enough password", "editor")
    editor.put("/api/teams/sales", json={"members": [{"user_id": ana["id"]}, {"user_id": bob["id"]}]})
    editor.patch(f"/api/owners/{ana['id']}", json={"away": True})
    publish.publish(
        services,
        "route",
        document={
            "format": "flowright/v1",
            "key": "route",
            "name": "Route new leads",
            "subject": "contact",
            "triggers": [{"type": "event", "event": "contact.created"}],
            "start": "assign",
            "nodes": [
                {"id": "assign", "type": "action", "action": "crm.assign_owner", "params": {"team": "sales"}}
            ],
        },
    )
    for i in range(3):
        editor.post("/api/contacts", json={"email": f"lead{i}@example.com"})
    drain(services)
    owners = {c["email"]: c["owner"] for c in viewer.get("/api/contacts").get_json()["items"]}
    assert owners == {f"lead{i}@example.com": bob["id"] for i in range(3)}
