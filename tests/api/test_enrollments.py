"""Bulk enrollment of a segment: a job with progress, polled over HTTP, run by a real RQ worker."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from runtime import operations
from runtime.services import Services
from tests.api.conftest import drain, error_of
from tests.api.flowdocs import drip

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def test_segment_enrollment_with_progress(
    editor: FlaskClient, viewer: FlaskClient, services: Services
) -> None:
    for n in range(7):
        tags = ["vip"] if n % 2 else []
        operations.put_record(services, "contact", {"email": f"p{n}@example.com", "tags": tags})
    editor.post("/api/flows", json=drip())
    editor.post("/api/flows/drip/publish", json={})
    where = {"field": "contact.tags", "op": "contains", "value": "vip"}
    started = editor.post("/api/flows/drip/enrollments", json={"object": "contact", "where": where})
    assert started.status_code == 202, started.get_json()
    job = started.get_json()
    assert job["status"] == "queued" and job["enrolled"] == 0
    drain(services)
    done = viewer.get(f"/api/enrollments/{job['id']}").get_json()
    assert (done["status"], done["scanned"], done["matched"], done["enrolled"]) == ("done", 7, 3, 3)
    assert len(viewer.get("/api/runs?flow=drip").get_json()["runs"]) == 3


def test_limit_and_refusals(editor: FlaskClient, viewer: FlaskClient, services: Services) -> None:
    for n in range(4):
        operations.put_record(services, "contact", {"email": f"l{n}@example.com"})
    assert editor.post("/api/flows/drip/enrollments", json={}).status_code == 404  # not published
    editor.post("/api/flows", json=drip())
    editor.post("/api/flows/drip/publish", json={})
    bad = editor.post("/api/flows/drip/enrollments", json={"where": {"field": "contact.email", "op": "nope"}})
    assert bad.status_code == 400 and error_of(bad)["details"][0]["path"].startswith("/where")
    assert editor.post("/api/flows/drip/enrollments", json={"object": "task"}).status_code == 422
    assert viewer.post("/api/flows/drip/enrollments", json={}).status_code == 403
    job = editor.post("/api/flows/drip/enrollments", json={"limit": 2}).get_json()
    drain(services)
    assert viewer.get(f"/api/enrollments/{job['id']}").get_json()["enrolled"] == 2
    assert viewer.get("/api/enrollments/abc123").status_code == 404
