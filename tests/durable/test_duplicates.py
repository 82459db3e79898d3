"""Duplicate events, as webhooks and retrying clients deliver them: the same id twice starts and resumes
nothing the second time, even when posted at the same moment from several threads; an event from
outside that changes a record is not echoed by the store as a second event of the same type."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runtime import operations, publish
from runtime.models import Event, Run, Step
from runtime.records import SqlRecords
from runtime.services import Services
from tests.durable.support import ProbeServer, work


def two_replies(url: str) -> dict[str, Any]:
    """Waits for a reply, acts, then waits for a second reply: a repeated first reply must not count."""
    return {
        "format": "flowright/v1",
        "key": "replies",
        "name": "Two replies",
        "subject": "contact",
        "triggers": [{"type": "event", "event": "form.submitted"}],
        "start": "first",
        "nodes": [
            {"id": "first", "type": "wait_for", "event": "email.replied", "next": "ack"},
            {
                "id": "ack",
                "type": "action",
                "action": "probe.once",
                "params": {"url": url, "label": "ack"},
                "next": "second",
            },
            {"id": "second", "type": "wait_for", "event": "email.replied", "next": "close"},
            {
                "id": "close",
                "type": "action",
                "action": "probe.once",
                "params": {"url": url, "label": "close"},
            },
        ],
    }


def event(event_id: str, kind: str, email: str = "ann@example.com", **data: Any) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "subject": {"contact": {"email": email}}, "data": data}


def run_rows(services: Services, key: str) -> list[Run]:
    with Session(services.engine) as session:
        return list(session.execute(select(Run).where(Run.flow_key == key)).scalars())


def test_a_repeated_reply_does_not_resume_the_next_wait(services: Services, probe: ProbeServer) -> None:
    publish.publish(services, "replies", document=two_replies(probe.url))
    operations.post_events(services, [event("form-1", "form.submitted")])
    work(services)
    operations.post_events(services, [event("reply-1", "email.replied")])
    work(services)
    [run] = run_rows(services, "replies")
    assert (run.status, run.cursor, probe.calls["ack"]) == ("waiting", "second", 1)

    again = operations.post_events(
        services, [event("reply-1", "email.replied"), event("form-1", "form.submitted")]
    )
    work(services)
    assert [a.new for a in again] == [False, False]
    [run] = run_rows(services, "replies")
    assert (run.status, run.cursor) == ("waiting", "second")
    assert dict(probe.calls) == {"ack": 1}

    operations.post_events(services, [event("reply-2", "email.replied")])
    work(services)
    [run] = run_rows(services, "replies")
    assert run.status == "completed" and dict(probe.calls) == {"ack": 1, "close": 1}


def test_the_same_event_posted_at_once_from_many_threads_starts_one_run(
    services: Services, probe: ProbeServer
) -> None:
    document = two_replies(probe.url)
    document["settings"] = {"reenroll": "always"}
    publish.publish(services, "replies", document=document)
    results: list[bool] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        try:
            barrier.wait()
            results.extend(
                a.new for a in operations.post_events(services, [event("hook-7", "form.submitted")])
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    work(services)
    assert errors == []
    assert sorted(results) == [False] * 5 + [True]
    assert len(run_rows(services, "replies")) == 1
    with Session(services.engine) as session:
        assert session.execute(select(func.count()).select_from(Event)).scalar() >= 1
        ids = list(session.execute(select(Event.id).where(Event.type == "form.submitted")).scalars())
    assert ids == ["hook-7"]


def stage_flow(url: str) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "won",
        "name": "Deal won",
        "subject": "deal",
        "triggers": [
            {
                "type": "event",
                "event": "deal.stage_changed",
                "where": {"field": "event.to", "op": "eq", "value": "won"},
            }
        ],
        "start": "thanks",
        "settings": {"reenroll": "always"},
        "nodes": [
            {
                "id": "thanks",
                "type": "action",
                "action": "probe.once",
                "params": {"url": url, "label": "{{ deal.name }} from {{ trigger.from }}"},
            }
        ],
    }


def test_a_stage_change_posted_from_outside_starts_one_run_not_two(
    services: Services, probe: ProbeServer
) -> None:
    publish.publish(services, "won", document=stage_flow(probe.url))
    contact = operations.put_record(services, "contact", {"email": "buyer@example.com"})
    deal = operations.put_record(
        services, "deal", {"name": "acme", "contact_id": contact["id"], "stage": "proposal"}
    )
    work(services)
    change = {
        "id": "crm-42",
        "type": "deal.stage_changed",
        "subject": {"deal_id": deal["id"]},
        "data": {"to": "won"},
    }
    operations.post_events(services, [change])
    operations.post_events(services, [change])
    work(services)
    assert operations.get_record(services, "deal", deal["id"])["stage"] == "won"
    assert dict(probe.calls) == {"acme from proposal": 1}
    with Session(services.engine) as session:
        changes = list(session.execute(select(Event).where(Event.type == "deal.stage_changed")).scalars())
        sends = session.execute(select(func.count()).select_from(Step).where(Step.node == "thanks")).scalar()
    assert sorted(e.data.get("to") for e in changes) == ["proposal", "won"]
    assert sends == 1

    operations.put_record(services, "deal", {"id": deal["id"], "stage": "proposal"})  # inside changes
    operations.put_record(services, "deal", {"id": deal["id"], "stage": "won"})  # still emit their event
    work(services)
    assert dict(probe.calls) == {"acme from proposal": 2}


def bounce(event_id: str, email: str, **data: Any) -> dict[str, Any]:
    return {"id": event_id, "type": "email.bounced", "subject": {"contact": {"email": email}}, "data": data}


def test_only_a_hard_bounce_marks_the_address_undeliverable(services: Services) -> None:
    """A soft bounce (mailbox full, greylisted: kind soft, or a 4xx code) leaves the contact mailable;
    a hard one (or a bounce that says nothing) marks it bounced, so mail.send refuses it from then on."""
    operations.post_events(
        services,
        [
            bounce("b-1", "soft@example.com", kind="soft", reason="mailbox full"),
            bounce("b-2", "code@example.com", code="452"),
            bounce("b-3", "hard@example.com", kind="hard", code="550"),
            bounce("b-4", "plain@example.com"),
        ],
    )
    with Session(services.engine) as session:
        records = SqlRecords(session, services.now, lambda _event: None)
        bounced = {
            email: (records.contact_by_email(email) or {}).get("bounced")
            for email in ("soft@example.com", "code@example.com", "hard@example.com", "plain@example.com")
        }
    assert bounced == {
        "soft@example.com": False,
        "code@example.com": False,
        "hard@example.com": True,
        "plain@example.com": True,
    }
