"""Connector rate budgets are applied by the runtime: a step over its provider's budget is not called,
waits on its node without spending a retry attempt, and goes out once the budget has room again."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import Connector, Rate
from connectors.registry import ConnectorRegistry, builtin_connectors
from runtime import operations, publish, scheduler
from runtime.models import Run, Step
from runtime.services import Services
from tests.durable.support import PROBE, ProbeServer, work

# The probe connector with a budget of 2 calls a second, like Slack's per-channel limit.
LIMITED = Connector(
    key="limited",
    title="Limited probe",
    credentials_schema={"type": "object"},
    actions={
        "limited.call": dataclasses.replace(
            PROBE.actions["probe.call"], key="limited.call", rate=Rate(2, 1.0)
        )
    },
)


def flow(url: str) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "announce",
        "name": "Announce",
        "subject": "contact",
        "triggers": [{"type": "event", "event": "form.submitted"}],
        "start": "post",
        "nodes": [
            {
                "id": "post",
                "type": "action",
                "action": "limited.call",
                "retry": {"max_attempts": 1},
                "params": {"url": url, "label": "post"},
            },
        ],
    }


def statuses(services: Services) -> list[str]:
    with Session(services.engine) as session:
        return sorted(r.status for r in session.execute(select(Run)).scalars())


def test_a_burst_over_the_budget_waits_instead_of_failing(
    services: Services, probe: ProbeServer, clock: Any
) -> None:
    services.registry = ConnectorRegistry([*builtin_connectors(), PROBE, LIMITED])
    publish.publish(services, "announce", document=flow(probe.url))
    operations.post_events(
        services,
        [
            {"id": f"f{i}", "type": "form.submitted", "subject": {"contact": {"email": f"c{i}@example.com"}}}
            for i in range(5)
        ],
    )
    work(services)
    # Two calls went out; three runs wait on the node although the step allows a single attempt.
    assert probe.calls["post"] == 2
    assert statuses(services) == ["completed"] * 2 + ["waiting"] * 3
    with Session(services.engine) as session:
        retrying = [s for s in session.execute(select(Step).where(Step.status == "retrying")).scalars()]
    assert len(retrying) == 3
    assert all("rate budget of 2 calls per 1s is used up" in (s.error or "") for s in retrying)
    assert all(s.attempt == 0 for s in retrying)

    for _ in range(4):  # the budget refills with wall time; the runs are due on the runtime's clock
        time.sleep(1.05)
        clock.advance(seconds=5)
        scheduler.claim_due(services)
        work(services)
    assert probe.calls["post"] == 5
    assert statuses(services) == ["completed"] * 5
    assert len({key for label, key in probe.keys}) == 5  # one call per run, none repeated
