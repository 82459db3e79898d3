"""Publishing: immutable versions, the trigger index follows the published version, and the keep /
migrate / cancel policies for runs waiting in an older version, with a preview of what cannot move."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import operations, publish, scheduler
from runtime.models import FlowVersion, Run, Wait
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
        "blocked": [],
        "reenter": [],
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
        assert (result["moved"], result["cancelled"]) == (0, 1) and dict(probe.calls) == {}


def test_migrate_leaves_runs_whose_node_is_gone(services: Services, probe: ProbeServer) -> None:
    publish.publish(services, "drip", document=drip(probe.url))
    start_one(services, "a")
    renamed = drip(probe.url, wait_node="wait")
    assert publish.preview(services, "drip", renamed).cannot_move == ["pause"]
    result = publish.publish(services, "drip", document=renamed, policy="migrate")
    assert result["moved"] == 0 and result["preview"]["cannot_move"] == ["pause"]
    assert [r.version for r in all_runs(services)] == [1]


def waiter(delay: bool = False) -> dict[str, Any]:
    """A flow waiting in w1 for pub.go (timeout P3D); with `delay`, w1 is a 5-second delay instead."""
    w1: dict[str, Any] = {"id": "w1", "type": "wait_for", "event": "pub.go", "timeout": "P3D", "next": "t"}
    if delay:
        w1 = {"id": "w1", "type": "delay", "duration": "PT5S", "next": "t"}
    return {
        "format": "flowright/v1",
        "key": "pub",
        "name": "Pub",
        "subject": "contact",
        "triggers": [{"type": "event", "event": "form.submitted"}],
        "start": "w1",
        "settings": {"reenroll": "always"},
        "nodes": [w1, {"id": "t", "type": "action", "action": "crm.add_tag", "params": {"tag": "done"}}],
    }


def test_migrate_reenters_a_node_whose_waiting_changed(services: Services, clock: Any) -> None:
    """Version 1 waits in w1 for pub.go (3 days); version 2 makes w1 a 5-second delay: the runs re-enter
    w1 as a delay counted from when they entered, their wait rows go, and pub.go no longer moves them."""
    publish.publish(services, "pub", document=waiter())
    start_one(services, "a")
    clock.advance(seconds=2)
    start_one(services, "b")
    with Session(services.engine) as session:
        waits = session.execute(select(Wait.run_id)).scalars().all()
    assert len(waits) == 2
    clock.advance(seconds=1)  # a entered 3 s ago, b 1 s ago

    report = publish.preview(services, "pub", waiter(delay=True)).to_dict()
    assert report["cannot_move"] == [] and report["blocked"] == []
    [reenter] = report["reenter"]
    assert (reenter["node"], reenter["from_version"], reenter["runs"]) == ("w1", 1, 2)
    assert "wait_for" in reenter["reason"] and "delay" in reenter["reason"]

    result = publish.publish(services, "pub", document=waiter(delay=True), policy="migrate")
    assert (result["moved"], result["reentered"], result["stayed"]) == (2, 2, 0)
    runs = {r.trigger_event: r for r in all_runs(services)}
    entered = {"a": clock.moment - timedelta(seconds=3), "b": clock.moment - timedelta(seconds=1)}
    for name, run in runs.items():
        assert (run.version, run.status, run.state["wait"]["kind"]) == (2, "waiting", "delay")
        assert run.wake_at == entered[name] + timedelta(seconds=5)  # not the old 3-day timeout
    with Session(services.engine) as session:
        assert session.execute(select(Wait)).scalars().all() == []

    operations.post_events(
        services, [{"id": "go", "type": "pub.go", "subject": {"contact": {"email": "a@example.com"}}}]
    )
    work(services)
    assert {r.status for r in all_runs(services)} == {"waiting"}  # v3 waits for no event
    clock.advance(seconds=3)  # a's 5 s are over, b's are not
    scheduler.claim_due(services)
    work(services)
    assert {r.trigger_event: r.status for r in all_runs(services)} == {"a": "completed", "b": "waiting"}


def test_preview_names_the_runs_that_cannot_move_and_why(services: Services, clock: Any) -> None:
    publish.publish(services, "pub", document=waiter())
    start_one(services, "a")
    gone = waiter()
    gone["start"] = "t"
    gone["nodes"] = gone["nodes"][1:]
    report = publish.preview(services, "pub", gone).to_dict()
    [run] = all_runs(services)
    assert report["cannot_move"] == ["w1"]
    assert report["blocked"] == [
        {
            "node": "w1",
            "from_version": 1,
            "runs": 1,
            "reason": "version 2 has no node 'w1'",
            "run_ids": [run.id],
        }
    ]
    action = waiter()
    action["nodes"][0] = {
        "id": "w1",
        "type": "action",
        "action": "crm.add_tag",
        "params": {"tag": "x"},
        "next": "t",
    }
    [blocked] = publish.preview(services, "pub", action).to_dict()["blocked"]
    assert blocked["reason"] == "'w1' was a wait_for and is an action in version 2: it does not wait"
    result = publish.publish(services, "pub", document=action, policy="migrate")
    assert (result["moved"], result["stayed"]) == (0, 1)
    assert [r.version for r in all_runs(services)] == [1]


def test_migrate_moves_an_unchanged_wait_as_it_is(services: Services, clock: Any) -> None:
    publish.publish(services, "pub", document=waiter())
    start_one(services, "a")
    [before] = all_runs(services)
    tagged = waiter()
    tagged["nodes"][1]["params"]["tag"] = "changed"
    report = publish.preview(services, "pub", tagged).to_dict()
    assert (report["blocked"], report["reenter"]) == ([], [])
    result = publish.publish(services, "pub", document=tagged, policy="migrate")
    assert (result["moved"], result["reentered"]) == (1, 0)
    [after] = all_runs(services)
    assert (after.version, after.wake_at, after.state["wait"]) == (2, before.wake_at, before.state["wait"])
    operations.post_events(
        services, [{"id": "go", "type": "pub.go", "subject": {"contact": {"email": "a@example.com"}}}]
    )
    work(services)
    assert [r.status for r in all_runs(services)] == ["completed"]
