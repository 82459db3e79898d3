"""Flow statistics over HTTP, from runs real workers advanced: per node, per version, funnels."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from runtime import operations, publish, scheduler
from runtime.services import Services
from tests.api.conftest import drain, error_of
from tests.durable.support import ProbeServer

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def document(url: str) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "triage",
        "name": "Triage",
        "subject": "contact",
        "triggers": [{"type": "manual"}],
        "start": "score",
        "nodes": [
            {
                "id": "score",
                "type": "branch",
                "rules": [{"when": {"field": "contact.score", "op": "gte", "value": 50}, "next": "hot"}],
                "else": "cold",
            },
            {"id": "hot", "type": "action", "action": "probe.call", "params": {"url": url, "label": "hot"}},
            {"id": "cold", "type": "delay", "duration": "P1D", "next": "nudge"},
            {
                "id": "nudge",
                "type": "action",
                "action": "probe.call",
                "params": {"url": "http://127.0.0.1:9/", "label": "nudge"},
            },
        ],
    }


def start(services: Services, editor: FlaskClient, scores: list[int]) -> None:
    probe = ProbeServer()
    try:
        publish.publish(services, "triage", document=document(probe.url))
        for i, score in enumerate(scores):
            contact = editor.post(
                "/api/contacts", json={"email": f"s{i}@example.com", "score": score}
            ).get_json()
            operations.enroll(services, "triage", {"contact_id": contact["id"]})
        drain(services)
    finally:
        probe.close()


def nodes(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["node"]: n for n in body["nodes"]}


def test_stats_per_node_and_version(
    editor: FlaskClient, viewer: FlaskClient, services: Services, clock: Any
) -> None:
    start(services, editor, [90, 70, 10])
    body = viewer.get("/api/flows/triage/stats").get_json()
    assert (body["runs"]["entered"], body["runs"]["completed"], body["runs"]["waiting_now"]) == (3, 2, 1)
    by_node = nodes(body)
    assert (by_node["score"]["entered"], by_node["hot"]["completed"], by_node["cold"]["waiting_now"]) == (
        3,
        2,
        1,
    )
    later = clock.advance(days=1, seconds=1)
    scheduler.claim_due(services)
    drain(services)
    body = viewer.get("/api/flows/triage/stats", query_string={"version": 1}).get_json()
    assert nodes(body)["nudge"]["failed"] == 1 and body["versions"][0]["failed"] == 1
    recent = viewer.get("/api/flows/triage/stats", query_string={"since": later.isoformat()}).get_json()
    assert nodes(recent)["score"]["entered"] == 0 and nodes(recent)["nudge"]["entered"] == 1


def test_funnel(editor: FlaskClient, viewer: FlaskClient, services: Services) -> None:
    start(services, editor, [90, 10, 20, 30])
    reply = viewer.get("/api/flows/triage/funnel", query_string={"from": "score", "to": "hot"})
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert (body["from"], body["to"], body["entered"], body["converted"], body["rate"]) == (
        "score",
        "hot",
        4,
        1,
        0.25,
    )


def test_stats_errors_are_4xx(editor: FlaskClient, viewer: FlaskClient, services: Services) -> None:
    start(services, editor, [10])
    unknown_flow = viewer.get("/api/flows/nope/stats")
    assert unknown_flow.status_code == 404 and error_of(unknown_flow)["code"] == "not_found"
    assert viewer.get("/api/flows/triage/stats?version=9").status_code == 404
    bad_node = viewer.get("/api/flows/triage/funnel", query_string={"from": "score", "to": "warm"})
    assert bad_node.status_code == 422 and error_of(bad_node)["details"][0]["path"] == "/to"
    bad_time = viewer.get("/api/flows/triage/stats", query_string={"since": "last week"})
    assert bad_time.status_code == 422 and error_of(bad_time)["details"][0]["path"] == "/since"
    missing = viewer.get("/api/flows/triage/funnel", query_string={"from": "score"})
    assert missing.status_code == 422
    error_of(missing)
