"""crm.* actions: everything goes through `ctx.records` (the SQL store or the simulator's memory)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import isodate

from connectors.base import ActionContext, PermanentError
from connectors.crm.owners import pick_owner


def target(ctx: ActionContext, params: dict[str, Any]) -> tuple[str, Any]:
    """(kind, id) to act on: `object` if given, else the deal if the run has one, else the contact."""
    subject = ctx.run.subject
    kind = params.get("object") or ("deal" if subject.get("deal_id") is not None else "contact")
    record_id = subject.get(f"{kind}_id")
    if record_id is None and kind == "contact" and subject.get("deal_id") is not None:
        record_id = (ctx.records.get("deal", subject["deal_id"]) or {}).get("contact_id")
    if record_id is None:
        raise PermanentError(f"this run has no {kind} to act on")
    return kind, record_id


def run_update(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    kind, record_id = target(ctx, params)
    ctx.records.update(kind, record_id, dict(params["fields"]))
    return {"kind": kind, "id": record_id, "updated": sorted(params["fields"])}


def run_move_stage(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    _, deal_id = target(ctx, {"object": "deal"})
    deal = ctx.records.move_stage(deal_id, params["stage"], params.get("pipeline"))
    out = {"deal_id": deal_id, "stage": str(deal.get("stage", params["stage"]))}
    pipeline = deal.get("pipeline", params.get("pipeline"))
    if pipeline is not None:
        out["pipeline"] = str(pipeline)
    return out


def _parse_moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PermanentError(f"not an ISO datetime: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def due_at(ctx: ActionContext, params: dict[str, Any]) -> datetime | None:
    """`due_at` as given, or the run clock plus `due_in` (an ISO-8601 duration, months included)."""
    if params.get("due_at"):
        return _parse_moment(str(params["due_at"]))
    if params.get("due_in"):
        try:
            duration = isodate.parse_duration(str(params["due_in"]))
        except (isodate.ISO8601Error, ValueError):
            raise PermanentError(f"not an ISO-8601 duration: {params['due_in']!r}") from None
        moment: datetime = ctx.clock() + duration
        return moment.astimezone(UTC)
    return None


def run_create_task(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    kind, record_id = target(ctx, params)
    record = ctx.records.get(kind, record_id) or {}
    assignee = params.get("assignee", record.get("owner"))
    due = due_at(ctx, params)
    subject = ctx.run.subject
    fields = {
        "title": params["title"], "due_at": due, "assignee": assignee, "notes": params.get("notes"),
        "contact_id": record_id if kind == "contact" else subject.get("contact_id", record.get("contact_id")),
        "deal_id": record_id if kind == "deal" else subject.get("deal_id"),
    }
    task = ctx.records.create_task(fields)
    return {"task_id": task.get("id"), "assignee": assignee, "due_at": due.isoformat() if due else None}


def run_assign_owner(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    kind, record_id = target(ctx, params)
    member = pick_owner(ctx.records, params["team"], params.get("strategy", "round_robin"))
    ctx.records.update(kind, record_id, {"owner": member["id"]})
    out = {"kind": kind, "id": record_id, "owner": member["id"]}
    if member.get("name"):
        out["owner_name"] = str(member["name"])
    return out


def run_add_tag(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    kind, record_id = target(ctx, params)
    record = ctx.records.add_tag(kind, record_id, str(params["tag"]))
    return {"kind": kind, "id": record_id, "tags": [str(t) for t in record.get("tags") or [params["tag"]]]}


def run_add_score(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    kind, record_id = target(ctx, params)
    record = ctx.records.add_score(kind, record_id, params["points"])
    return {"kind": kind, "id": record_id, "score": record.get("score", params["points"])}


def run_add_note(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    kind, record_id = target(ctx, params)
    note = ctx.records.add_note(kind, record_id, str(params["text"]))
    out = {"kind": kind, "id": record_id}
    if note.get("id") is not None:
        out["note_id"] = note["id"]
    return out
