"""Contacts, deals and tasks over HTTP: CRUD, condition search with cursors, roles, and 4xx errors
in the DESIGN §8 shape (real app, SQLite, Redis)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from runtime import publish
from runtime.durations import iso
from runtime.services import Services
from tests.api.conftest import drain, error_of

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def test_contact_lifecycle(editor: FlaskClient, viewer: FlaskClient) -> None:
    made = editor.post("/api/contacts", json={"email": "Ana@Example.com", "first_name": "Ana", "plan": "pro"})
    assert made.status_code == 201, made.get_json()
    contact = made.get_json()
    assert (contact["email"], contact["plan"], contact["subscribed"]) == ("ana@example.com", "pro", True)
    assert viewer.get("/api/contacts/ana@example.com").get_json()["id"] == contact["id"]
    changed = editor.patch(f"/api/contacts/{contact['id']}", json={"score": 40, "plan": "team"})
    assert (changed.get_json()["score"], changed.get_json()["plan"]) == (40, "team")
    assert editor.delete(f"/api/contacts/{contact['id']}").get_json() == {"deleted": True}
    gone = viewer.get(f"/api/contacts/{contact['id']}")
    assert gone.status_code == 404 and error_of(gone)["code"] == "not_found"


def test_viewer_reads_but_cannot_write(editor: FlaskClient, viewer: FlaskClient) -> None:
    editor.post("/api/contacts", json={"email": "a@example.com"})
    assert viewer.get("/api/contacts").status_code == 200
    for reply in (
        viewer.post("/api/contacts", json={"email": "b@example.com"}),
        viewer.patch("/api/contacts/1", json={"score": 1}),
        viewer.delete("/api/contacts/1"),
        viewer.post("/api/deals", json={"name": "x"}),
        viewer.post("/api/tasks", json={"title": "x"}),
    ):
        assert reply.status_code == 403 and error_of(reply)["code"] == "forbidden"


def test_search_older_than_pages_with_cursor(editor: FlaskClient, viewer: FlaskClient, clock: Any) -> None:
    for i in range(5):
        last = iso(clock() - timedelta(days=40 + i))
        editor.post("/api/contacts", json={"email": f"old{i}@example.com", "last_contact_at": last})
    editor.post("/api/contacts", json={"email": "fresh@example.com", "last_contact_at": iso(clock())})
    where = {"field": "contact.last_contact_at", "op": "older_than", "value": "P30D"}
    seen, cursor = [], None
    while True:
        reply = viewer.post("/api/contacts/search", json={"where": where, "limit": 2, "cursor": cursor})
        assert reply.status_code == 200, reply.get_json()
        body = reply.get_json()
        seen += [c["email"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"old{i}@example.com" for i in range(5)]


def test_deals_search_sees_their_contact(editor: FlaskClient, viewer: FlaskClient) -> None:
    ana = editor.post("/api/contacts", json={"email": "ana@example.com", "tags": ["vip"]}).get_json()
    bob = editor.post("/api/contacts", json={"email": "bob@example.com"}).get_json()
    for who, value in ((ana, 100), (bob, 200), (ana, 300)):
        assert editor.post("/api/deals", json={"contact_id": who["id"], "value": value}).status_code == 201
    where = {
        "all": [
            {"field": "contact.tags", "op": "contains", "value": "vip"},
            {"field": "deal.value", "op": "gt", "value": 150},
        ]
    }
    found = viewer.post("/api/deals/search", json={"where": where}).get_json()["items"]
    assert [d["value"] for d in found] == [300]


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ({"field": "contact.email", "op": "sounds_like", "value": "x"}, "/where/op"),
        ({"all": [{"field": "deal.stage", "op": "eq", "value": "won"}]}, "/where/all/0/field"),
        (
            {"any": [{"field": "contact.last_contact_at", "op": "older_than", "value": "a month"}]},
            "/where/any/0/value",
        ),
        ({"not": {"op": "eq"}}, "/where/not"),
    ],
)
def test_bad_condition_is_422_naming_the_pointer(viewer: FlaskClient, where: Any, path: str) -> None:
    reply = viewer.post("/api/contacts/search", json={"where": where})
    assert reply.status_code == 422
    error = error_of(reply)
    assert error["details"][0]["path"] == path and path in error["message"]


def test_bad_input_is_4xx_never_500(editor: FlaskClient) -> None:
    cases = [
        editor.post("/api/contacts", json={"email": "nope", "timezone": "Mars/Olympus"}),
        editor.post("/api/contacts", json=[1, 2]),
        editor.post("/api/contacts", data="{not json", content_type="application/json"),
        editor.post("/api/deals", json={"contact_id": 999}),
        editor.post("/api/tasks", json={"notes": "no title"}),
        editor.post("/api/tasks", json={"title": "x", "due_at": "tomorrow"}),
        editor.patch("/api/deals/99", json={"name": "x"}),
        editor.get("/api/contacts?limit=0"),
        editor.get("/api/contacts?cursor=%%%"),
        editor.post("/api/contacts", json={"email": "a@example.com", "bad key!": 1}),
    ]
    for reply in cases:
        assert 400 <= reply.status_code < 500, (reply.status_code, reply.get_json())
        error_of(reply)
    first = error_of(cases[0])
    assert sorted(d["path"] for d in first["details"]) == ["/email", "/timezone"]


def test_taken_email_is_409(editor: FlaskClient) -> None:
    editor.post("/api/contacts", json={"email": "a@example.com"})
    other = editor.post("/api/contacts", json={"email": "b@example.com"}).get_json()
    reply = editor.patch(f"/api/contacts/{other['id']}", json={"email": "a@example.com"})
    assert reply.status_code == 409 and error_of(reply)["details"][0]["path"] == "/email"


def test_tasks_complete(editor: FlaskClient, viewer: FlaskClient) -> None:
    task = editor.post("/api/tasks", json={"title": "Call Ana", "due_at": "2026-03-05T10:00:00Z"}).get_json()
    done = editor.patch(f"/api/tasks/{task['id']}", json={"done": True}).get_json()
    assert done["done"] is True and done["completed_at"]
    open_ = viewer.post(
        "/api/tasks/search", json={"where": {"field": "task.done", "op": "eq", "value": False}}
    )
    assert open_.get_json() == {"items": [], "next_cursor": None}


def test_a_change_made_over_the_api_starts_the_flows_listening(
    editor: FlaskClient, viewer: FlaskClient, services: Services
) -> None:
    publish.publish(
        services,
        "celebrate",
        document={
            "format": "flowright/v1",
            "key": "celebrate",
            "name": "Celebrate a won deal",
            "subject": "deal",
            "triggers": [
                {
                    "type": "event",
                    "event": "deal.stage_changed",
                    "where": {"field": "event.to", "op": "eq", "value": "won"},
                }
            ],
            "start": "tag",
            "nodes": [
                {"id": "tag", "type": "action", "action": "crm.add_tag", "params": {"tag": "celebrated"}}
            ],
        },
    )
    editor.put("/api/pipelines/sales", json={"stages": ["new", "won"]})
    deal = editor.post("/api/deals", json={"name": "Big one", "pipeline": "sales", "stage": "new"}).get_json()
    drain(services)
    assert viewer.get(f"/api/deals/{deal['id']}").get_json()["tags"] == []
    editor.patch(f"/api/deals/{deal['id']}", json={"stage": "won"})
    drain(services)
    assert viewer.get(f"/api/deals/{deal['id']}").get_json()["tags"] == ["celebrated"]


def test_timeline_newest_first_in_pages(editor: FlaskClient, viewer: FlaskClient, services: Services) -> None:
    ana = editor.post("/api/contacts", json={"email": "ana@example.com"}).get_json()
    for score in (1, 2, 3):
        editor.patch(f"/api/contacts/{ana['id']}", json={"score": score})
    editor.post(
        "/api/events",
        json={"type": "email.opened", "subject": {"contact_id": ana["id"]}, "data": {"mail": "welcome"}},
    )
    seen, cursor = [], None
    while True:
        reply = viewer.get(
            "/api/contacts/ana@example.com/timeline", query_string={"limit": 2, "cursor": cursor}
        )
        assert reply.status_code == 200, reply.get_json()
        seen += [
            (a["type"], a["data"].get("score", a["data"].get("mail"))) for a in reply.get_json()["items"]
        ]
        cursor = reply.get_json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [
        ("email.opened", "welcome"),
        ("contact.updated", 3),
        ("contact.updated", 2),
        ("contact.updated", 1),
        ("contact.created", None),
    ]
    assert viewer.get("/api/deals/42/timeline").status_code == 404
    assert viewer.get("/api/contacts/ana@example.com/timeline?cursor=zzz").status_code == 422
