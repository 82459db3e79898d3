"""Segment and date triggers fire from one scheduler pass (`flowright scheduler --once`), once each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import operations, publish, scheduler
from runtime.models import Run
from runtime.services import Services
from tests.durable.support import ProbeServer, work

FORGOTTEN = {
    "format": "flowright/v1",
    "key": "forgotten",
    "name": "Forgotten deals",
    "subject": "deal",
    "triggers": [
        {
            "type": "segment",
            "where": {
                "all": [
                    {"field": "deal.stage", "op": "eq", "value": "in_progress"},
                    {"field": "contact.last_contact_at", "op": "older_than", "value": "P30D"},
                ]
            },
        }
    ],
    "start": "mark",
    "nodes": [{"id": "mark", "type": "action", "action": "crm.move_stage", "params": {"stage": "forgotten"}}],
}


def renewal(url: str) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "renewal",
        "name": "Renewal reminder",
        "subject": "deal",
        "triggers": [
            {"type": "date", "object": "deal", "field": "renewal_at", "offset": "-P30D", "at": "09:00"}
        ],
        "start": "remind",
        "nodes": [
            {
                "id": "remind",
                "type": "action",
                "action": "probe.call",
                "params": {"url": url, "label": "{{ deal.name }}"},
            }
        ],
    }


def flow_runs(services: Services, key: str) -> list[Run]:
    with Session(services.engine) as session:
        return list(session.execute(select(Run).where(Run.flow_key == key)).scalars())


def test_segment_sweep_marks_deals_with_no_contact_for_30_days(services: Services, clock: Any) -> None:
    publish.publish(services, "forgotten", document=FORGOTTEN)
    now = clock()
    old = operations.put_record(
        services, "contact", {"email": "old@example.com", "last_contact_at": now - timedelta(days=29)}
    )
    fresh = operations.put_record(
        services, "contact", {"email": "new@example.com", "last_contact_at": now - timedelta(days=3)}
    )
    stale = operations.put_record(services, "deal", {"contact_id": old["id"], "stage": "in_progress"})
    active = operations.put_record(services, "deal", {"contact_id": fresh["id"], "stage": "in_progress"})
    work(services)
    assert flow_runs(services, "forgotten") == []  # 29 days without contact: not yet
    clock.advance(days=2)  # nothing changes on the records; only time passes
    scheduler.once(services)
    work(services)
    assert operations.get_record(services, "deal", stale["id"])["stage"] == "forgotten"
    assert operations.get_record(services, "deal", active["id"])["stage"] == "in_progress"
    scheduler.once(services)
    work(services)
    assert [r.status for r in flow_runs(services, "forgotten")] == ["completed"]


def test_segment_fires_on_change_when_the_record_starts_matching(services: Services, clock: Any) -> None:
    publish.publish(services, "forgotten", document=FORGOTTEN)
    contact = operations.put_record(
        services, "contact", {"email": "old@example.com", "last_contact_at": clock() - timedelta(days=40)}
    )
    deal = operations.put_record(services, "deal", {"contact_id": contact["id"], "stage": "new"})
    work(services)
    operations.put_record(services, "deal", {"id": deal["id"], "stage": "in_progress"})
    work(services)
    assert operations.get_record(services, "deal", deal["id"])["stage"] == "forgotten"


def test_date_trigger_fires_once_per_record_per_date(
    services: Services, probe: ProbeServer, clock: Any
) -> None:
    publish.publish(services, "renewal", document=renewal(probe.url))
    today = clock().date()
    soon = operations.put_record(
        services, "deal", {"name": "soon", "renewal_at": str(today + timedelta(days=29))}
    )
    operations.put_record(services, "deal", {"name": "later", "renewal_at": str(today + timedelta(days=90))})
    scheduler.once(services)
    work(services)
    scheduler.once(services)
    work(services)
    assert dict(probe.calls) == {"soon": 1}
    operations.put_record(services, "deal", {"id": soon["id"], "renewal_at": str(today + timedelta(days=25))})
    scheduler.once(services)
    work(services)
    assert dict(probe.calls) == {"soon": 2}  # a new date value is a new reminder
