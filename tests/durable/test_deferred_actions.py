"""An action that defers itself (connectors.errors.Deferred: sms.send in the recipient's quiet hours) is
re-timed to the moment it names, without spending a retry attempt and without the spread a shared rate
budget gets, and goes out then."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import Action, ActionContext, Connector, Deferred, Delivery
from connectors.registry import ConnectorRegistry, builtin_connectors
from runtime import operations, publish, scheduler
from runtime.models import Run, Step
from runtime.services import Services
from tests.durable.support import PROBE, work

OPENS = timedelta(hours=9)  # the quiet window ends 9 hours after the test clock's start
sent: list[str] = []


def _quiet_send(start: Any) -> Any:
    def send(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
        wait = (start + OPENS - ctx.clock()).total_seconds()
        if wait > 0:
            raise Deferred(f"quiet hours: sending in {int(wait)} s", retry_after=wait)
        sent.append(ctx.idempotency_key)
        return {"sent": True}

    return send


def connector(start: Any) -> Connector:
    action = Action(key="quiet.send", title="Quiet send", params_schema={"type": "object"},
                    output_schema={"type": "object"}, example_output={}, delivery=Delivery.AT_MOST_ONCE,
                    run=_quiet_send(start), needs_credential=False)
    return Connector(key="quiet", title="Quiet", credentials_schema={"type": "object"},
                     actions={"quiet.send": action})


def flow() -> dict[str, Any]:
    return {
        "format": "flowright/v1", "key": "nightly", "name": "Nightly", "subject": "contact",
        "triggers": [{"type": "event", "event": "form.submitted"}], "start": "text",
        "nodes": [{"id": "text", "type": "action", "action": "quiet.send", "params": {},
                   "retry": {"max_attempts": 1}}],
    }


def test_a_deferred_action_waits_for_its_moment_without_spending_an_attempt(
        services: Services, clock: Any) -> None:
    sent.clear()
    start = clock()
    services.registry = ConnectorRegistry([*builtin_connectors(), PROBE, connector(start)])
    publish.publish(services, "nightly", document=flow())
    operations.post_events(services, [{"id": "f1", "type": "form.submitted",
                                       "subject": {"contact": {"email": "night@example.com"}}}])
    work(services)
    with Session(services.engine) as session:
        [run] = session.execute(select(Run)).scalars()
        assert run.status == "waiting" and run.wake_at is not None
        assert run.wake_at.replace(tzinfo=start.tzinfo) == start + OPENS  # to the second: no spread
        [step] = session.execute(select(Step).where(Step.status == "retrying")).scalars()
        assert step.attempt == 0 and "quiet hours" in (step.error or "")

    clock.advance(hours=4)  # woken early (e.g. a reschedule): deferred again, still not an attempt
    with Session(services.engine) as session:
        session.execute(Run.__table__.update().values(wake_at=clock()))  # type: ignore[attr-defined]
        session.commit()
    scheduler.claim_due(services)
    work(services)
    assert sent == []

    clock.advance(hours=5)
    scheduler.claim_due(services)
    work(services)
    assert len(sent) == 1  # one attempt allowed, and it was spent on the real call only
    with Session(services.engine) as session:
        assert [r.status for r in session.execute(select(Run)).scalars()] == ["completed"]
