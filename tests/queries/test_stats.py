"""Run statistics from runs the real workers advanced: per version, per node, and funnels."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import operations, publish, scheduler
from runtime.queries import records, stats
from runtime.queries.errors import Invalid, NotFound
from runtime.services import Services
from tests.durable.support import ProbeServer, work


def triage(url: str) -> dict[str, Any]:
    """Hot contacts get a call; cold ones wait a day and then hit an unreachable server (fail)."""
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


def node(report: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in report["nodes"] if n["node"] == node_id)


def start_runs(services: Services, probe: ProbeServer) -> None:
    publish.publish(services, "triage", document=triage(probe.url))
    for i, score in enumerate([80, 60, 10, 20]):
        contact = records.create(services, "contact", {"email": f"t{i}@example.com", "score": score})
        operations.enroll(services, "triage", {"contact_id": contact["id"]})
    work(services)


def test_per_node_counts_and_waiting_now(services: Services, probe: ProbeServer, clock: Any) -> None:
    start_runs(services, probe)
    report = stats.flow_stats(services, "triage")
    assert report["runs"]["entered"] == 4
    assert (report["runs"]["completed"], report["runs"]["waiting"], report["runs"]["waiting_now"]) == (
        2,
        2,
        2,
    )
    assert node(report, "score") | {"type": "branch"} == {
        "node": "score",
        "type": "branch",
        "entered": 4,
        "visits": 4,
        "completed": 4,
        "failed": 0,
        "waiting_now": 0,
    }
    assert (node(report, "hot")["completed"], node(report, "cold")["waiting_now"]) == (2, 2)
    assert node(report, "nudge")["entered"] == 0  # listed although no run reached it yet

    later = clock.advance(days=1, seconds=1)
    scheduler.claim_due(services)
    work(services)
    report = stats.flow_stats(services, "triage", version=1)
    assert (report["runs"]["failed"], report["runs"]["waiting_now"]) == (2, 0)
    assert (node(report, "nudge")["failed"], node(report, "cold")["completed"]) == (2, 2)
    assert report["versions"] == [
        {"version": 1, **{k: v for k, v in report["runs"].items() if k != "waiting_now"}}
    ]

    recent = stats.flow_stats(services, "triage", since=later.isoformat())
    assert node(recent, "score")["entered"] == 0 and node(recent, "nudge")["entered"] == 2
    assert recent["runs"]["entered"] == 0  # no run started since then


def test_funnel_between_two_nodes(services: Services, probe: ProbeServer, clock: Any) -> None:
    start_runs(services, probe)
    hot = stats.funnel(services, "triage", "score", "hot")
    assert (hot["entered"], hot["converted"], hot["rate"]) == (4, 2, 0.5)
    assert stats.funnel(services, "triage", "cold", "nudge")["converted"] == 0
    clock.advance(days=1, seconds=1)
    scheduler.claim_due(services)
    work(services)
    assert stats.funnel(services, "triage", "cold", "nudge")["rate"] == 1.0
    assert stats.funnel(services, "triage", "hot", "score")["converted"] == 0  # order matters
    empty = stats.funnel(services, "triage", "score", "hot", until="2000-01-01T00:00:00Z")
    assert (empty["entered"], empty["rate"]) == (0, None)


def test_bad_requests(services: Services, probe: ProbeServer) -> None:
    start_runs(services, probe)
    with pytest.raises(NotFound):
        stats.flow_stats(services, "nope")
    with pytest.raises(NotFound):
        stats.flow_stats(services, "triage", version=7)
    with pytest.raises(Invalid) as caught:
        stats.funnel(services, "triage", "score", "hott")
    assert caught.value.details[0]["path"] == "/to" and "hot" in caught.value.message
    with pytest.raises(Invalid) as caught:
        stats.flow_stats(services, "triage", since="yesterday")
    assert caught.value.details[0]["path"] == "/since"
    with pytest.raises(Invalid):
        stats.flow_stats(services, "triage", since="2026-03-02", until="2026-03-01")
    with pytest.raises(Invalid):
        stats.flow_stats(services, "triage", since="0001-01-01T00:00:00+05:00")
