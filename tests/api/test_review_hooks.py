"""POST /hooks/reviews/<provider>: a review site's webhook becomes review.received events through the
same ingestion as POST /api/events, and starts the flows listening for them (real app, real Redis)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from runtime import access
from runtime.services import Services
from tests.api.conftest import drain, error_of
from tests.api.flowdocs import drip

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def trustpilot(review_id: str, stars: int, reference: str | None) -> dict[str, Any]:
    """A Trustpilot service-review webhook as Trustpilot posts it (no consumer e-mail)."""
    data: dict[str, Any] = {
        "id": review_id, "language": "en", "title": "Great service", "text": "Quick delivery",
        "stars": stars, "createdAt": "2026-11-23T09:34:44.000Z", "isVerified": True,
        "link": f"https://api.trustpilot.com/v1/reviews/{review_id}",
        "consumer": {"id": "53bffc3900006400017e5db8", "name": "Ana",
                     "link": "https://api.trustpilot.com/v1/consumers/53bffc3900006400017e5db8"},
        "tags": []}
    if reference is not None:
        data["referenceId"] = reference
    return {"events": [{"eventName": "service-review-created", "version": "1", "eventData": data}]}


def ingest_key(services: Services) -> str:
    _, secret = access.create_token(services, "viewer", kind="ingest", name="trustpilot")
    return secret


def runs_for(viewer: FlaskClient) -> list[dict[str, Any]]:
    runs = viewer.get("/api/runs?flow=reviews").get_json()["runs"]
    return [viewer.get(f"/api/runs/{run['id']}").get_json() for run in runs]


def test_a_trustpilot_review_starts_the_flow_of_the_deal_it_references(
        client: FlaskClient, editor: FlaskClient, viewer: FlaskClient, services: Services) -> None:
    editor.post("/api/flows", json=drip(key="reviews", event="review.received"))
    assert editor.post("/api/flows/reviews/publish", json={}).status_code in (200, 201)
    contact = editor.post("/api/contacts", json={"email": "ana@example.com"}).get_json()
    deal = editor.post("/api/deals", json={"contact_id": contact["id"], "name": "Oak dining set"}).get_json()
    key = ingest_key(services)

    # the reference reviews.request sends by default, in the ?key= form a Trustpilot subscription URL takes
    url = f"/hooks/reviews/trustpilot?key={key}"
    reply = client.post(url, json=trustpilot("r1", 5, f"deal:{deal['id']}"))
    assert reply.status_code == 202, reply.get_json()
    assert reply.get_json() == {"events": [{"id": "trustpilot:r1", "type": "review.received", "new": True}]}
    again = client.post(url, json=trustpilot("r1", 5, f"deal:{deal['id']}"))
    assert again.get_json()["events"][0]["new"] is False  # Trustpilot's retry starts nothing
    # a free-text reference naming exactly one deal, with the key as a Bearer token
    named = client.post("/hooks/reviews/trustpilot", json=trustpilot("r2", 2, "Oak dining set"),
                        headers={"Authorization": f"Bearer {key}"})
    assert named.status_code == 202, named.get_json()
    drain(services)

    runs = runs_for(viewer)
    assert len(runs) == 2
    assert {run["subject"]["contact_id"] for run in runs} == {contact["id"]}
    assert sorted(run["trigger"]["rating"] for run in runs) == [2, 5]
    assert {run["trigger"]["source"] for run in runs} == {"trustpilot"}


def test_a_review_whose_reference_names_no_record_is_kept_without_starting_a_contact_flow(
        client: FlaskClient, editor: FlaskClient, viewer: FlaskClient, services: Services) -> None:
    editor.post("/api/flows", json=drip(key="reviews", event="review.received"))
    editor.post("/api/flows/reviews/publish", json={})
    key = ingest_key(services)
    for review_id, reference in (("r3", "ORDER-1001"), ("r4", "deal:999"), ("r5", None)):
        reply = client.post(f"/hooks/reviews/trustpilot?key={key}", json=trustpilot(review_id, 4, reference))
        assert reply.status_code == 202 and reply.get_json()["events"][0]["new"] is True
    deleted = {"events": [{"eventName": "service-review-deleted", "version": "1", "eventData": {"id": "r3"}}]}
    assert client.post(f"/hooks/reviews/trustpilot?key={key}", json=deleted).get_json() == {"events": []}
    drain(services)
    assert runs_for(viewer) == []


def test_a_generic_review_by_email(client: FlaskClient, editor: FlaskClient, viewer: FlaskClient,
                                   services: Services) -> None:
    editor.post("/api/flows", json=drip(key="reviews", event="review.received"))
    editor.post("/api/flows/reviews/publish", json={})
    key = ingest_key(services)
    body = {"rating": 4.5, "email": "new@example.com", "text": "Nice", "id": "g-1"}
    reply = client.post("/hooks/reviews/generic", json=body, headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 202, reply.get_json()
    drain(services)
    [run] = runs_for(viewer)
    assert run["trigger"]["rating"] == 4.5
    found = viewer.get(f"/api/contacts/{run['subject']['contact_id']}").get_json()
    assert found["email"] == "new@example.com"


def test_review_hooks_need_an_ingest_key_and_a_known_provider(
        client: FlaskClient, app: Any, services: Services) -> None:
    body = trustpilot("r9", 5, None)
    assert error_of(client.post("/hooks/reviews/trustpilot", json=body))["code"] == "unauthorized"
    assert client.post("/hooks/reviews/trustpilot?key=fr_ingest_nope", json=body).status_code == 401
    _, editor_token = access.create_token(services, "editor", kind="api", name="an editor's token")
    assert client.post(f"/hooks/reviews/trustpilot?key={editor_token}", json=body).status_code == 401
    key = ingest_key(services)
    unknown = client.post(f"/hooks/reviews/yelp?key={key}", json=body)
    assert unknown.status_code == 404 and "trustpilot" in error_of(unknown)["message"]
    bad = client.post(f"/hooks/reviews/generic?key={key}", json={"rating": "great", "email": "a@b.c"})
    assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_review"
    notjson = client.post(f"/hooks/reviews/trustpilot?key={key}", data=b"{nope",
                          content_type="application/json")
    assert notjson.status_code == 400 and error_of(notjson)["code"] == "bad_json"
