"""Publishing: immutable versions, the trigger index follows the published version, and the keep /
migrate / cancel policies for runs waiting in an older version, with a preview of what cannot move."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import operations, publish, scheduler
from runtime.models import FlowVersion, Run
from runtime.services import Services
from tests.durable.support import ProbeServer, work


def drip(url: str, wait_node: str = "pause", event: str = "form.submitted") -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "drip",
        "name": "Drip",
        "subject": "contact",
        "triggers": [{"type": "event", "event": event}],
        "start": wait_node,
        "settings": {"reenroll": "always"},
        "nodes": [
            {"id": wait_node, "type": "delay", "duration": "P1D", "next": "send"},
            {"id": "send", "type": "action", "action": "probe.call", "params": {"url": url, "label": "send"}},
        ],
    }


def start_one(services: Services, event_id: str, event: str = "form.submitted") -> None:
    operations.post_events(
        services,
        [{"id": event_id, "type": event, "subject": {"contact": {"email": f"{event_id}@example.com"}}}],
    )
    work(services)


def all_runs(services: Services) -> list[Run]:
    with Session(services.engine) as session:
        return list(session.execute(select(Run).order_by(Run.id)).scalars())


def test_versions_are_immutable_and_republishing_the_same_document_is_a_no_op(
    services: Services, probe: ProbeServer
) -> None:
    first = publish.publish(services, "drip", document=drip(probe.url), author="ann")
    again = publish.publish(services, "drip", document=drip(probe.url))
    second = publish.publish(services, "drip", document=drip(probe.url, event="form.sent"))
    assert (first["version"], again["version"], again["unchanged"], second["version"]) == (1, 1, True, 2)
    with Session(services.engine) as session:
        rows = session.execute(select(FlowVersion).order_by(FlowVersion.version)).scalars().all()
    assert [r.document["triggers"][0]["event"] for r in rows] == ["form.submitted", "form.sent"]
    assert rows[0].author == "ann" and len(rows[0].hash) == 64
    start_one(services, "old", "form.submitted")  # the index now holds version 2's trigger only
    start_one(services, "new", "form.sent")
    assert [(r.version, r.trigger_event) for r in all_runs(services)] == [(2, "new")]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("keep", (1, "waiting")), ("migrate", (2, "waiting")), ("cancel", (1, "cancelled"))],
)
def test_publish_policy_for_waiting_runs(
    services: Services, probe: ProbeServer, clock: Any, policy: str, expected: tuple[int, str]
) -> None:
    publish.publish(services, "drip", document=drip(probe.url))
    start_one(services, "a")
    changed = drip(probe.url)
    changed["nodes"][1]["params"]["label"] = "send-v2"
    assert publish.preview(services, "drip", changed).to_dict() == {
        "version": 2,
        "waiting": {"pause": 1},
        "cannot_move": [],
    }
    result = publish.publish(services, "drip", document=changed, policy=policy)
    [run] = all_runs(services)
    assert (run.version, run.status) == expected
    clock.advance(days=1, seconds=1)
    scheduler.claim_due(services)
    work(services)
    if policy != "cancel":
        assert dict(probe.calls) == {"send-v2" if policy == "migrate" else "send": 1}
    else:
        assert result["moved"] == 1 and dict(probe.calls) == {}


def test_migrate_leaves_runs_whose_node_is_gone(services: Services, probe: ProbeServer) -> None:
    publish.publish(services, "drip", document=drip(probe.url))
    start_one(services, "a")
    renamed = drip(probe.url, wait_node="wait")
    assert publish.preview(services, "drip", renamed).cannot_move == ["pause"]
    result = publish.publish(services, "drip", document=renamed, policy="migrate")
    assert result["moved"] == 0 and result["preview"]["cannot_move"] == ["pause"]
    assert [r.version for r in all_runs(services)] == [1]
