"""Action outputs in the durable runtime: times in them are ISO-8601 UTC with `Z`, as in the simulator."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import operations, publish
from runtime.models import Run, Step
from runtime.services import Services
from tests.durable.support import work

FLOW = {
    "format": "flowright/v1",
    "key": "call-back",
    "name": "Call back a form lead",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "form.submitted"}],
    "start": "task",
    "nodes": [
        {"id": "task", "type": "action", "action": "crm.create_task",
         "params": {"title": "Call {{ contact.email }}", "due_in": "PT4H"}, "next": "keep"},
        {"id": "keep", "type": "set", "values": {"due": "{{ steps.task.due_at }}"}},
    ],
}


def test_a_create_task_due_at_is_journalled_and_seen_with_z(services: Services) -> None:
    publish.publish(services, "call-back", document=FLOW)
    operations.post_events(services, [{"id": "f1", "type": "form.submitted",
                                       "subject": {"contact": {"email": "ann@example.com"}}, "data": {}}])
    work(services)
    with Session(services.engine) as session:
        run = session.execute(select(Run)).scalar_one()
        journal = session.execute(select(Step).where(Step.run_id == run.id, Step.node == "task")).scalar_one()
        due = journal.output["due_at"]
        assert run.status == "completed"
        assert due.endswith("Z") and "+00:00" not in due
        assert run.state["vars"]["due"] == due
