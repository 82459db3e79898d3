"""Time-driven CRM rules as they live in production: the scheduler's periodic pass (`scheduler --once`)
and real workers, a clock the test moves, both databases.

- MiniCRM auto-statuses: the shipped `status-forgotten` flow marks a contact "in progress" with no
  contact for 30 days as "forgotten" (with a reconnect task); contact resets the clock; it fires again
  after the contact has been back in progress and forgotten a second time.
- Stage-stuck alerts: a deal sitting in a stage past a limit raises one alert; moving on and coming back
  starts the count again.
- Renewal reminders: a `date` trigger 30 days before `renewal_at`, at 09:00 in the flow's timezone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import operations, publish, scheduler
from runtime.bundles import find_bundle
from runtime.models import Run, Task
from runtime.services import Services
from tests.durable.conftest import Clock
from tests.durable.support import ProbeServer, work


def sweep(services: Services) -> None:
    """One scheduler pass and the workers draining what it queued."""
    scheduler.once(services)
    work(services)


def flow_runs(services: Services, key: str) -> list[Run]:
    with Session(services.engine) as session:
        return list(
            session.execute(select(Run).where(Run.flow_key == key).order_by(Run.started_at)).scalars()
        )


def contact_status(services: Services, email: str) -> str | None:
    record = operations.get_record(services, "contact", email)
    assert record is not None
    return record.get("status")


def tasks_for(services: Services, contact_id: int) -> list[str]:
    with Session(services.engine) as session:
        rows = session.execute(select(Task).where(Task.contact_id == contact_id)).scalars()
        return [row.title for row in rows]


def contact_event(services: Services, event_id: str, email: str, kind: str = "email.sent") -> None:
    operations.post_events(
        services, [{"id": event_id, "type": kind, "subject": {"contact": {"email": email}}}]
    )
    work(services)


# ---------------------------------------------------------------- MiniCRM: forgotten after 30 days


def test_minicrm_forgotten_status_from_the_shipped_bundle(services: Services, clock: Clock) -> None:
    [forgotten] = [
        f for f in find_bundle("minicrm-auto-statuses").resolve() if f["key"] == "status-forgotten"
    ]
    publish.publish(services, "status-forgotten", document=forgotten)
    start = clock()
    for email in ("quiet@example.com", "busy@example.com", "lead@example.com"):
        operations.put_record(
            services,
            "contact",
            {"email": email, "first_name": email.split("@")[0], "last_name": "Doe", "last_contact_at": start},
        )
    operations.put_record(services, "contact", {"email": "quiet@example.com", "status": "in progress"})
    operations.put_record(services, "contact", {"email": "busy@example.com", "status": "in progress"})
    operations.put_record(services, "contact", {"email": "lead@example.com", "status": "new"})
    work(services)

    clock.advance(days=20)
    contact_event(services, "mail-1", "busy@example.com")  # contact on day 20 resets busy's clock
    sweep(services)
    assert flow_runs(services, "status-forgotten") == []

    clock.advance(days=10, hours=1)  # day 30 + 1 h: only the quiet one has gone 30 days without contact
    sweep(services)
    assert contact_status(services, "quiet@example.com") == "forgotten"
    assert contact_status(services, "busy@example.com") == "in progress"
    assert contact_status(services, "lead@example.com") == "new"  # not in progress: never forgotten
    quiet = operations.get_record(services, "contact", "quiet@example.com")
    assert quiet is not None and quiet["status_before_forgotten"] == "in progress"
    assert tasks_for(services, quiet["id"]) == [
        f"Reconnect with quiet Doe — no contact since {start:%Y-%m-%d}"
    ]

    for _ in range(3):  # later passes find it already marked: one run, one task
        clock.advance(hours=6)
        sweep(services)
    assert [r.status for r in flow_runs(services, "status-forgotten")] == ["completed"]
    assert len(tasks_for(services, quiet["id"])) == 1

    clock.advance(days=1)  # the person calls back; the contact is in progress again
    contact_event(services, "call-1", "quiet@example.com", kind="meeting.booked")
    operations.put_record(services, "contact", {"email": "quiet@example.com", "status": "in progress"})
    work(services)
    sweep(services)
    assert contact_status(services, "quiet@example.com") == "in progress"

    clock.advance(days=30, minutes=1)  # and is forgotten again after another 30 quiet days
    sweep(services)
    assert contact_status(services, "quiet@example.com") == "forgotten"
    assert contact_status(services, "busy@example.com") == "forgotten"  # busy's 30 days ran out too
    assert len(tasks_for(services, quiet["id"])) == 2


# ---------------------------------------------------------------- stage-stuck alerts


def stuck_alert(url: str) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "stuck-proposal",
        "name": "Proposal stuck for a week",
        "subject": "deal",
        "triggers": [
            {
                "type": "segment",
                "where": {
                    "all": [
                        {"field": "deal.stage", "op": "eq", "value": "proposal"},
                        {"field": "deal.stage_entered_at", "op": "older_than", "value": "P7D"},
                    ]
                },
            }
        ],
        "start": "alert",
        "nodes": [
            {
                "id": "alert",
                "type": "action",
                "action": "probe.call",
                "params": {"url": url, "label": "{{ deal.name }}"},
                "next": "task",
            },
            {
                "id": "task",
                "type": "action",
                "action": "crm.create_task",
                "params": {"title": "Chase the proposal to {{ deal.name }}", "due_in": "P1D"},
            },
        ],
    }


def move(services: Services, deal_id: int, stage: str) -> None:
    operations.put_record(services, "deal", {"id": deal_id, "stage": stage})
    work(services)


def test_stage_stuck_alert_fires_once_per_stay_in_the_stage(
    services: Services, probe: ProbeServer, clock: Clock
) -> None:
    operations.put_pipeline(services, "sales", ["lead", "proposal", "negotiation", "won"])
    publish.publish(services, "stuck-proposal", document=stuck_alert(probe.url))
    contact = operations.put_record(services, "contact", {"email": "buyer@example.com"})
    deals = {
        name: operations.put_record(
            services,
            "deal",
            {"name": name, "contact_id": contact["id"], "pipeline": "sales", "stage": "lead"},
        )["id"]
        for name in ("acme", "globex", "initech")
    }
    work(services)
    for name in deals:
        move(services, deals[name], "proposal")

    clock.advance(days=3)
    move(services, deals["globex"], "negotiation")  # moved on in time: never stuck
    clock.advance(days=3, hours=23)  # 6 days 23 hours in the stage
    sweep(services)
    assert dict(probe.calls) == {}

    clock.advance(hours=2)
    sweep(services)
    sweep(services)
    assert dict(probe.calls) == {"acme": 1, "initech": 1}
    with Session(services.engine) as session:
        titles = sorted(t.title for t in session.execute(select(Task)).scalars())
    assert titles == ["Chase the proposal to acme", "Chase the proposal to initech"]

    move(services, deals["acme"], "negotiation")  # acme goes back a step a day later...
    clock.advance(days=1)
    move(services, deals["acme"], "proposal")
    clock.advance(days=6)
    sweep(services)
    assert dict(probe.calls) == {"acme": 1, "initech": 1}  # ...its new stay is 6 days old
    clock.advance(days=1, minutes=1)
    sweep(services)
    assert dict(probe.calls) == {"acme": 2, "initech": 1}  # initech is still stuck: still one alert


# ---------------------------------------------------------------- renewal reminders


def renewal(url: str) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "renewal",
        "name": "Renewal reminder 30 days ahead",
        "subject": "deal",
        "triggers": [
            {"type": "date", "object": "deal", "field": "renewal_at", "offset": "-P30D", "at": "09:00"}
        ],
        "start": "remind",
        "settings": {"timezone": "Europe/Vilnius", "reenroll": "always"},
        "nodes": [
            {
                "id": "remind",
                "type": "action",
                "action": "probe.call",
                "params": {"url": url, "label": "{{ deal.name }} renews {{ deal.renewal_at }}"},
            }
        ],
    }


def test_renewal_reminder_30_days_ahead_at_nine_local_time(
    services: Services, probe: ProbeServer, clock: Clock
) -> None:
    clock.moment = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)  # 06:00 in Vilnius (UTC+3 in summer)
    publish.publish(services, "renewal", document=renewal(probe.url))
    contact = operations.put_record(services, "contact", {"email": "client@example.com"})
    for name, renews in (("alpha", "2026-06-01"), ("beta", "2026-06-02"), ("gamma", "2026-09-01")):
        operations.put_record(
            services, "deal", {"name": name, "contact_id": contact["id"], "renewal_at": renews}
        )
    work(services)

    sweep(services)  # 1 May 06:00 local: alpha's reminder is due at 09:00 on 2 May
    clock.moment = datetime(2026, 5, 2, 5, 59, tzinfo=UTC)  # 08:59 local on 2 May
    sweep(services)
    assert dict(probe.calls) == {}
    clock.moment = datetime(2026, 5, 2, 6, 0, 30, tzinfo=UTC)  # 09:00:30 local
    sweep(services)
    assert dict(probe.calls) == {"alpha renews 2026-06-01": 1}

    clock.moment = datetime(2026, 5, 5, 7, 0, tzinfo=UTC)  # the scheduler was down on 3 May: beta
    sweep(services)  # still gets its reminder when it comes back, once
    sweep(services)
    assert dict(probe.calls) == {"alpha renews 2026-06-01": 1, "beta renews 2026-06-02": 1}

    beta = next(r for r in flow_runs(services, "renewal") if "beta" in str(r.state))
    assert beta.status == "completed"
    clock.moment = datetime(2026, 8, 2, 6, 1, tzinfo=UTC)  # 09:01 local, 30 days before gamma's date
    sweep(services)
    assert len(probe.calls) == 3 and probe.calls["gamma renews 2026-09-01"] == 1
    assert len(flow_runs(services, "renewal")) == 3
