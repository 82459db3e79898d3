"""Flows run end to end through real RQ workers (in-process SimpleWorker), a real Redis and both
databases, with a clock the test moves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runtime import operations, publish, scheduler
from runtime.models import Run, Step
from runtime.services import Services
from tests.durable.support import ProbeServer, work


def nurture(url: str, **settings: Any) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "nurture",
        "name": "Nurture",
        "subject": "contact",
        "triggers": [
            {
                "type": "event",
                "event": "form.submitted",
                "where": {"field": "event.form", "op": "eq", "value": "ebook"},
            }
        ],
        "start": "welcome",
        "settings": {"exit_on": [{"event": "meeting.booked"}], **settings},
        "nodes": [
            {
                "id": "welcome",
                "type": "action",
                "action": "probe.call",
                "params": {"url": url, "label": "welcome"},
                "next": "pause",
            },
            {"id": "pause", "type": "delay", "duration": "P2D", "next": "replied"},
            {
                "id": "replied",
                "type": "wait_for",
                "event": "email.replied",
                "timeout": "P3D",
                "next": "thanks",
                "on_timeout": "nudge",
            },
            {
                "id": "thanks",
                "type": "action",
                "action": "probe.call",
                "params": {"url": url, "label": "thanks"},
            },
            {
                "id": "nudge",
                "type": "action",
                "action": "probe.call",
                "params": {"url": url, "label": "nudge"},
            },
        ],
    }


def form(event_id: str, email: str = "ann@example.com", name: str = "ebook") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "form.submitted",
        "subject": {"contact": {"email": email}},
        "data": {"form": name},
    }


def runs(services: Services) -> list[Run]:
    with Session(services.engine) as session:
        return list(session.execute(select(Run).order_by(Run.started_at)).scalars())


def wake(services: Services) -> None:
    scheduler.claim_due(services)
    work(services)


def test_flow_runs_through_delay_wait_and_timeout(services: Services, probe: ProbeServer, clock: Any) -> None:
    publish.publish(services, "nurture", document=nurture(probe.url))
    accepted = operations.post_events(services, [form("f1"), form("f2", name="other")])
    assert [a.new for a in accepted] == [True, True]
    work(services)
    [run] = runs(services)
    assert run.status == "waiting" and run.cursor == "pause" and probe.calls["welcome"] == 1

    clock.advance(days=1)
    wake(services)
    assert runs(services)[0].cursor == "pause"  # not due yet
    clock.advance(days=1, seconds=1)
    wake(services)
    assert runs(services)[0].cursor == "replied"
    clock.advance(days=3, seconds=1)
    wake(services)
    [run] = runs(services)
    assert run.status == "completed"
    assert (probe.calls["nudge"], probe.calls["thanks"]) == (1, 0)
    with Session(services.engine) as session:
        path = [
            s.node
            for s in session.execute(select(Step).where(Step.run_id == run.id).order_by(Step.seq)).scalars()
        ]
    assert path == ["welcome", "pause", "replied", "nudge"]


def test_wait_for_resumes_on_event_about_the_subject(
    services: Services, probe: ProbeServer, clock: Any
) -> None:
    publish.publish(services, "nurture", document=nurture(probe.url))
    operations.post_events(services, [form("f1"), form("f9", email="bob@example.com")])
    work(services)
    clock.advance(days=2, seconds=1)
    wake(services)
    operations.post_events(
        services,
        [
            {
                "id": "r1",
                "type": "email.replied",
                "subject": {"contact": {"email": "ann@example.com"}},
                "data": {"x": 1},
            }
        ],
    )
    work(services)
    by_status = sorted((r.status, r.cursor) for r in runs(services))
    assert by_status == [("completed", None), ("waiting", "replied")]
    assert probe.calls["thanks"] == 1


def test_same_event_twice_starts_one_run(services: Services, probe: ProbeServer) -> None:
    publish.publish(services, "nurture", document=nurture(probe.url, reenroll="always"))
    first = operations.post_events(services, [form("dup")])
    second = operations.post_events(services, [form("dup")])
    work(services)
    assert [a.new for a in first + second] == [True, False]
    assert len(runs(services)) == 1 and probe.calls["welcome"] == 1


def test_reenroll_after_exit_and_exit_on(services: Services, probe: ProbeServer) -> None:
    publish.publish(services, "nurture", document=nurture(probe.url))
    operations.post_events(services, [form("a1")])
    work(services)
    operations.post_events(services, [form("a2")])  # live run: after_exit refuses a second one
    work(services)
    assert len(runs(services)) == 1
    operations.post_events(
        services,
        [{"id": "m1", "type": "meeting.booked", "subject": {"contact": {"email": "ann@example.com"}}}],
    )
    work(services)
    assert [(r.status, r.exit_reason) for r in runs(services)] == [("exited", "goal")]
    operations.post_events(services, [form("a3")])
    work(services)
    assert sorted(r.status for r in runs(services)) == ["exited", "waiting"]


def test_flushed_redis_loses_no_run(services: Services, probe: ProbeServer, clock: Any) -> None:
    publish.publish(services, "nurture", document=nurture(probe.url))
    operations.post_events(services, [form("f1")])
    services.redis.flushall()  # the event's work item and the drain job are gone
    clock.advance(minutes=1)
    scheduler.once(services)
    work(services)
    [run] = runs(services)
    assert run.cursor == "pause" and probe.calls["welcome"] == 1
    clock.advance(days=2, seconds=1)
    scheduler.claim_due(services)
    services.redis.flushall()  # the wake-up is lost too
    clock.advance(minutes=3)
    scheduler.once(services)
    work(services)
    assert runs(services)[0].cursor == "replied"


def test_retryable_failure_is_retried_through_the_timer_with_retry_after(
    services: Services, probe: ProbeServer, clock: Any
) -> None:
    doc = nurture(probe.url)
    doc["nodes"][0]["retry"] = {"max_attempts": 3, "backoff": "PT1S"}
    probe.busy["welcome"] = 1
    publish.publish(services, "nurture", document=doc)
    operations.post_events(services, [form("f1")])
    work(services)
    [run] = runs(services)
    assert run.status == "waiting" and run.cursor == "welcome"
    assert (run.wake_at - clock()).total_seconds() >= 119  # Retry-After: 120 beats the 1 s backoff
    clock.advance(seconds=121)
    wake(services)
    assert runs(services)[0].cursor == "pause" and probe.calls["welcome"] == 1


def test_failed_run_is_retried_from_its_failed_step(services: Services, probe: ProbeServer) -> None:
    doc = nurture("http://127.0.0.1:9/unreachable")
    doc["nodes"][0]["params"]["url"] = "not a url"
    publish.publish(services, "nurture", document=doc)
    operations.post_events(services, [form("f1")])
    work(services)
    [run] = runs(services)
    assert run.status == "failed" and run.cursor == "welcome" and "welcome" in run.error
    fixed = nurture(probe.url)
    with Session(services.engine) as session:  # the cause is fixed: the version's URL now answers
        row = session.get(Run, run.id)
        assert row is not None
    services._flows[("nurture", 1)] = services._flows[("nurture", 1)].from_document(fixed, 1)
    operations.retry(services, run.id)
    work(services)
    [run] = runs(services)
    assert run.status == "waiting" and run.cursor == "pause" and probe.calls["welcome"] == 1


def test_cancel_ends_a_waiting_run(services: Services, probe: ProbeServer) -> None:
    publish.publish(services, "nurture", document=nurture(probe.url))
    operations.post_events(services, [form("f1")])
    work(services)
    [run] = runs(services)
    operations.cancel(services, run.id)
    [run] = runs(services)
    assert run.status == "cancelled" and run.wake_at is None
    with Session(services.engine) as session:
        assert (
            session.execute(select(func.count()).select_from(Run).where(Run.status == "waiting")).scalar()
            == 0
        )
