"""POST /api/events: one event or a batch, idempotent ids, per-event errors with pointers, who may post."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from runtime.services import Services
from tests.api.conftest import drain, error_of
from tests.api.flowdocs import drip

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def event(n: int, **extra: object) -> dict[str, object]:
    return {"id": f"ev-{n}", "type": "form.submitted", "subject": {"contact": {"email": f"e{n}@example.com"}},
            **extra}


def test_a_batch_starts_runs_and_repeats_start_nothing(ingest: FlaskClient, editor: FlaskClient,
                                                       viewer: FlaskClient, services: Services) -> None:
    editor.post("/api/flows", json=drip())
    editor.post("/api/flows/drip/publish", json={})
    reply = ingest.post("/api/events", json=[event(n) for n in range(3)])
    assert reply.status_code == 202
    assert [e["new"] for e in reply.get_json()["events"]] == [True, True, True]
    again = ingest.post("/api/events", json=event(1)).get_json()
    assert again == {"events": [{"id": "ev-1", "type": "form.submitted", "new": False}]}
    drain(services)
    assert len(viewer.get("/api/runs?flow=drip").get_json()["runs"]) == 3


def test_invalid_events_in_a_batch_are_all_reported_and_nothing_is_stored(ingest: FlaskClient) -> None:
    reply = ingest.post("/api/events", json=[event(1), {"type": "nope"}, event(3, data="text")])
    assert reply.status_code == 422
    paths = [d["path"] for d in error_of(reply)["details"]]
    assert paths == ["/1/type", "/2/data"]
    assert ingest.post("/api/events", json=event(1)).get_json()["events"][0]["new"] is True


def test_bad_bodies(ingest: FlaskClient) -> None:
    assert error_of(ingest.post("/api/events", data="x", content_type="text/plain"))["code"] == "bad_json"
    assert error_of(ingest.post("/api/events", json=[]))["code"] == "bad_batch"
    assert ingest.post("/api/events", json=[event(n) for n in range(1001)]).status_code == 400
    missing = ingest.post("/api/events", json={"type": "deal.updated", "subject": {"deal_id": 99}})
    assert missing.status_code == 422 and "99" in error_of(missing)["message"]


def test_who_may_post(viewer: FlaskClient, editor: FlaskClient, client: FlaskClient) -> None:
    assert viewer.post("/api/events", json=event(1)).status_code == 403
    assert editor.post("/api/events", json=event(1)).status_code == 202
    assert client.post("/api/events", json=event(2)).status_code == 401
