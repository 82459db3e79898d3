"""Input a fuzzer or a careless sender sends: every door answers a 4xx naming the spot, never a 500, and
nothing the records API would refuse reaches the record store through an event's subject."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from connectors.mail import tracking
from runtime import operations
from runtime.errors import EventsInvalid
from runtime.services import Services, secret_key
from tests.api.conftest import error_of
from tests.api.flowdocs import drip

BAD_CONTACTS: list[tuple[dict[str, Any], str]] = [
    ({"email": "x@example.com", "score": "abc"}, "/score"),
    ({"email": "x@example.com", "subscribed": "maybe"}, "/subscribed"),
    ({"email": "x@example.com", "bounced": {"x": 1}}, "/bounced"),
    ({"phone": ["x"]}, "/phone"),
    ({"email": "x@example.com", "phone": "1" * 5000}, "/phone"),
    ({"email": "x@example.com", "owner": 999}, "/owner"),
    ({"email": "x@example.com", "owner": "x"}, "/owner"),
    ({"email": "x@example.com", "tags": "abc"}, "/tags"),
    ({"email": "x@example.com", "tags": [1, {"a": 2}]}, "/tags"),
    ({"email": 5}, "/email"),
    ({"email": "notanemail"}, "/email"),
    ({"email": "x@example.com", "timezone": "Mars/Base"}, "/timezone"),
    ({"email": "x@example.com", "last_contact_at": "garbage"}, "/last_contact_at"),
    ({"email": "x@example.com", "bad key!": 1}, "/bad key!"),
    ({"email": None, "phone": None}, ""),
]


JSON = "application/json"


def _paths(reply: Any) -> list[str]:
    return [d["path"] for d in error_of(reply)["details"]]


def _publish_hook(editor: FlaskClient) -> str:
    editor.post("/api/flows", json=drip())
    editor.post("/api/flows/drip/publish", json={})
    return "/hooks/" + editor.post("/api/flows/drip/hook", json={}).get_json()["url"].rsplit("/", 1)[1]


@pytest.mark.parametrize(("contact", "field"), BAD_CONTACTS)
def test_a_subject_contact_passes_the_records_checks(ingest: FlaskClient, admin: FlaskClient,
                                                     contact: dict[str, Any], field: str) -> None:
    event = {"type": "form.submitted", "subject": {"contact": contact}}
    reply = ingest.post("/api/events", json=event)
    assert reply.status_code == 422, reply.get_json()
    assert _paths(reply) == [f"/subject/contact{field}"]
    batch = ingest.post("/api/events", json=[{"type": "form.submitted"}, event])
    assert batch.status_code == 422 and _paths(batch) == [f"/1/subject/contact{field}"]
    assert admin.get("/api/contacts").get_json()["items"] == []


def test_a_hook_checks_its_subject_the_same_way(client: FlaskClient, editor: FlaskClient,
                                                admin: FlaskClient) -> None:
    url = _publish_hook(editor)
    reply = client.post(url, json={"subject": {"contact": {"email": "x@example.com", "score": "abc"}}})
    assert reply.status_code == 422 and _paths(reply) == ["/subject/contact/score"]
    reply = client.post(url, json={"subject": {"deal_id": "x"}})
    assert reply.status_code == 422 and _paths(reply) == ["/subject/deal_id"]
    assert "int()" not in error_of(reply)["message"]
    reply = client.post(url, json={"email": "notanemail", "plan": "pro"})  # the subject made of it
    assert reply.status_code == 422 and _paths(reply) == ["/email"]
    assert admin.get("/api/contacts").get_json()["items"] == []


@pytest.mark.parametrize("subject", [
    {"contact_id": 99999999999999999999}, {"deal_id": 9223372036854775808}, {"contact_id": "7"},
    {"contact_id": True}, {"contact_id": 1.5}, {"contact_id": -5},
])
def test_subject_ids_out_of_range_are_refused(ingest: FlaskClient, subject: dict[str, Any]) -> None:
    reply = ingest.post("/api/events", json={"type": "form.submitted", "subject": subject})
    assert reply.status_code == 422
    assert _paths(reply) == ["/subject/" + next(iter(subject))]


def test_a_batch_reports_the_subject_problems_of_every_event(ingest: FlaskClient) -> None:
    events = [
        {"type": "form.submitted", "subject": {"contact": {"email": "a@example.com"}}},
        {"type": "form.submitted", "subject": {"contact_id": 424242}},
        {"type": "nope"},
        {"type": "form.submitted", "subject": {"deal_id": 77}, "at": "9999-12-31T23:59:59-14:00"},
        {"type": "form.submitted", "subject": {"email": "a@example.com"}},
    ]
    reply = ingest.post("/api/events", json=events)
    assert reply.status_code == 422
    assert _paths(reply) == ["/1/subject/contact_id", "/2/type", "/3/at", "/4/subject/email"]
    assert error_of(reply)["code"] == "invalid_event"


def test_a_non_finite_number_is_refused_not_stored(ingest: FlaskClient, admin: FlaskClient) -> None:
    body = '{"type": "form.submitted", "subject": {"contact": {"email": "a@example.com", "score": 1e400}}}'
    reply = ingest.post("/api/events", data=body, content_type="application/json")
    assert reply.status_code == 422 and _paths(reply) == ["/subject/contact/score"]
    created = admin.post("/api/contacts", data='{"email": "b@example.com", "rank": 1e400}',
                         content_type="application/json")
    assert created.status_code == 422 and _paths(created) == ["/rank"]
    listed = admin.get("/api/contacts")
    assert json.loads(listed.get_data(as_text=True)) == {"items": [], "next_cursor": None}


def test_every_door_refuses_through_ingestion(services: Services) -> None:
    """The CLI's `events post` and the hooks call runtime.operations.post_events, as the API does."""
    with pytest.raises(EventsInvalid) as refused:
        operations.post_events(services, [
            {"type": "form.submitted", "subject": {"contact": {"email": "a@example.com", "tags": "x"}}},
            {"type": "form.submitted", "subject": {"contact": {"email": "b@example.com"}}},
        ])
    assert refused.value.pointers(indexed=True) == [("/0/subject/contact/tags", refused.value.details[0][1])]


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_dates_at_the_calendar_ends_are_a_422_naming_the_field(admin: FlaskClient, ingest: FlaskClient,
                                                               at: str) -> None:
    admin.post("/api/flows", json=drip())
    quoted = at.replace("+", "%2B")
    for reply, path in (
        (admin.get(f"/api/runs?since={quoted}"), "/since"),
        (admin.get(f"/api/runs?until={quoted}"), "/until"),
        (admin.post("/api/runs/retry-failed", json={"since": at}), "/since"),
        (admin.get(f"/api/flows/drip/stats?since={quoted}"), "/since"),
        (ingest.post("/api/events", json={"type": "form.submitted", "at": at}), "/at"),
        (admin.post("/api/flows/drip/simulate", json={"start": at}), "/start"),
    ):
        assert reply.status_code == 422, (path, reply.get_json())
        error = error_of(reply)
        assert [d["path"] for d in error["details"]] == [path]
        assert "between the years 1900 and 9000" in error["details"][0]["message"]


def _nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


def test_json_nested_600_levels_is_refused_before_anything_works_on_it(
    ingest: FlaskClient, editor: FlaskClient, client: FlaskClient
) -> None:
    url = _publish_hook(editor)
    deep = _nested(600)
    for reply in (
        ingest.post("/api/events", data=f'{{"type": "a.b", "data": {deep}}}', content_type=JSON),
        client.post(url, data=f'{{"x": {deep}}}', content_type=JSON),
        editor.post("/api/flows/drip/enroll", data=f'{{"subject": {{"contact_id": 1}}, "trigger": {deep}}}',
                    content_type=JSON),
    ):
        assert reply.status_code == 422, reply.get_json()
        assert "nested more than 100 levels" in error_of(reply)["message"]
    shallow = ingest.post("/api/events", data=f'{{"type": "a.b", "data": {_nested(90)}}}',
                          content_type="application/json")
    assert shallow.status_code == 202


def test_a_json_string_body_is_named_as_such(client: FlaskClient, editor: FlaskClient,
                                             ingest: FlaskClient) -> None:
    url = _publish_hook(editor)
    for reply in (client.post(url, json="str"), ingest.post("/api/events", json="str")):
        assert reply.status_code == 422
        message = error_of(reply)["message"]
        assert "JSON string" in message and "Invalid JSON" not in message


def test_tracking_links_of_a_deleted_contact_still_work(client: FlaskClient, admin: FlaskClient) -> None:
    key = secret_key().decode()
    contact = admin.post("/api/contacts", json={"email": "gone@example.com"}).get_json()
    assert admin.delete(f"/api/contacts/{contact['id']}").status_code == 200
    data = {"c": contact["id"], "e": "gone@example.com", "u": "https://example.com/"}
    pixel = client.get(f"/t/o/{tracking.make_token(key, 'open', data)}.gif")
    assert pixel.status_code == 200 and pixel.mimetype == "image/gif"
    click = client.get(f"/t/c/{tracking.make_token(key, 'click', data)}")
    assert click.status_code == 302 and click.headers["Location"] == "https://example.com/"
    nobody = client.get(f"/t/c/{tracking.make_token(key, 'click', {'u': 'https://example.com/'})}")
    assert nobody.status_code == 302
    token = tracking.make_token(key, "unsubscribe", data)
    assert client.get(f"/t/u/{token}").status_code == 200
    assert client.post(f"/t/u/{token}").status_code == 200
    assert admin.get("/api/contacts").get_json()["items"] == []  # not made again from the e-mail


def test_a_malformed_draft_lists_with_summary_fields_of_the_documented_types(editor: FlaskClient) -> None:
    weird = {"format": "flowright/v1", "key": "weird", "subject": 5, "name": ["a"], "triggers": [{"type": 1}]}
    assert editor.post("/api/flows", json=weird).status_code == 201
    [row] = editor.get("/api/flows").get_json()["flows"]
    assert (row["name"], row["subject"], row["triggers"]) == ("weird", None, [])
    assert editor.get("/api/flows/weird").get_json()["name"] == "weird"


def test_the_role_is_checked_before_the_body(viewer: FlaskClient, editor: FlaskClient) -> None:
    reply = viewer.put("/api/pipelines/p", json={"stages": []})
    assert reply.status_code == 403 and error_of(reply)["code"] == "forbidden"
    assert editor.put("/api/pipelines/p", json={"stages": []}).status_code == 422


def test_422_validation_failures_share_one_code(editor: FlaskClient) -> None:
    for reply in (
        editor.post("/api/contacts", json={"score": "x"}),  # the record checks
        editor.post("/api/flows/drip/publish", json={"policy": "x"}),  # the OpenAPI models
    ):
        assert reply.status_code == 422 and error_of(reply)["code"] == "invalid_request"
