"""The built-in contact/deal store: actions that only go through `ctx.records` (local, no credential)."""

from __future__ import annotations

from typing import Any

from connectors.base import Action, ActionFn, Connector, Delivery
from connectors.crm import actions as run
from connectors.schema import DURATION, RECORD_KIND, obj, string

_ID = {"type": ["string", "integer"]}


def _local(key: str, title: str, description: str, params: dict[str, Any], required: tuple[str, ...],
           output: dict[str, Any], out_required: tuple[str, ...], example: dict[str, Any],
           delivery: Delivery, fn: ActionFn) -> Action:
    return Action(
        key=key, title=title, description=description,
        params_schema=obj(params, required, top=True),
        output_schema=obj(output, out_required, top=True),
        example_output=example, delivery=delivery, run=fn, local=True, needs_credential=False,
    )


_ACTIONS = [
    _local("crm.update", "Update fields", "Set fields on the run's contact or deal.",
           {"fields": {"type": "object", "minProperties": 1}, "object": RECORD_KIND}, ("fields",),
           {"kind": RECORD_KIND, "id": _ID, "updated": {"type": "array", "items": string()}},
           ("kind", "id", "updated"), {"kind": "contact", "id": 7, "updated": ["lifecycle"]},
           Delivery.IDEMPOTENT,  # setting the same values twice leaves the same record
           run.run_update),
    _local("crm.move_stage", "Move deal to stage", "Move the run's deal to a pipeline stage.",
           {"stage": string(minLength=1), "pipeline": string()}, ("stage",),
           {"deal_id": _ID, "stage": string(), "pipeline": string()}, ("deal_id", "stage"),
           {"deal_id": 3, "stage": "proposal", "pipeline": "sales"},
           Delivery.IDEMPOTENT,  # moving to the stage it is already in changes nothing
           run.run_move_stage),
    _local("crm.create_task", "Create a task", "Create a task about the run's subject.",
           {"title": string(minLength=1), "due_in": DURATION, "due_at": string(format="date-time"),
            "assignee": _ID, "notes": string()}, ("title",),
           {"task_id": _ID, "assignee": {"type": ["string", "integer", "null"]},
            "due_at": {"type": ["string", "null"], "format": "date-time"}},
           ("task_id", "assignee", "due_at"),
           {"task_id": 12, "assignee": 2, "due_at": "2026-11-25T09:00:00Z"},
           Delivery.AT_MOST_ONCE,  # a repeat would create a second task
           run.run_create_task),
    _local("crm.assign_owner", "Assign an owner", "Pick an owner from a team (skipping people marked away).",
           {"team": string(minLength=1),
            "strategy": string(enum=["round_robin", "weighted", "least_loaded"], default="round_robin"),
            "object": RECORD_KIND}, ("team",),
           {"kind": RECORD_KIND, "id": _ID, "owner": _ID, "owner_name": string()},
           ("kind", "id", "owner"), {"kind": "deal", "id": 3, "owner": 2, "owner_name": "Grace Hopper"},
           # A repeat assigns again; the record still ends up with exactly one owner from the team.
           Delivery.IDEMPOTENT, run.run_assign_owner),
    _local("crm.add_tag", "Add a tag", "Add a tag to the run's contact or deal.",
           {"tag": string(minLength=1), "object": RECORD_KIND}, ("tag",),
           {"kind": RECORD_KIND, "id": _ID, "tags": {"type": "array", "items": string()}},
           ("kind", "id", "tags"), {"kind": "contact", "id": 7, "tags": ["customer", "vip"]},
           Delivery.IDEMPOTENT,  # tags are a set
           run.run_add_tag),
    _local("crm.add_score", "Add to the score", "Add points (negative to subtract) to the lead score.",
           {"points": {"type": "number"}, "object": RECORD_KIND}, ("points",),
           {"kind": RECORD_KIND, "id": _ID, "score": {"type": "number"}},
           ("kind", "id", "score"), {"kind": "contact", "id": 7, "score": 35},
           Delivery.AT_MOST_ONCE,  # adding twice would count the points twice
           run.run_add_score),
    _local("crm.add_note", "Add a note", "Add a note to the record's timeline.",
           {"text": string(minLength=1), "object": RECORD_KIND}, ("text",),
           {"kind": RECORD_KIND, "id": _ID, "note_id": _ID}, ("kind", "id"),
           {"kind": "contact", "id": 7, "note_id": 41},
           Delivery.AT_MOST_ONCE,  # a repeat would add the note twice
           run.run_add_note),
]

CONNECTOR = Connector(
    key="crm",
    title="CRM (built-in records)",
    description="Contacts, deals, tasks and owners in Flowright's own record store.",
    credentials_schema=obj({}, top=True),
    actions={a.key: a for a in _ACTIONS},
)
