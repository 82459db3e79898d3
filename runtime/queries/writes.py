"""How each writable record kind is created, changed and deleted: reference, uniqueness and stage
checks first (each naming the field), then the record store, which emits the events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlmodel import col

from runtime.durations import iso
from runtime.models import Activity, Contact, Deal, Pipeline, Task, User
from runtime.queries.errors import Conflict, Invalid
from runtime.records import SqlRecords, as_dict


def check_refs(records: SqlRecords, values: Mapping[str, Any], pointer: str = "") -> None:
    """Every user, contact or deal the values name exists (`pointer` prefixes the fields' pointers)."""
    targets: dict[str, Any] = {"owner": User, "assignee": User, "contact_id": Contact, "deal_id": Deal}
    names: dict[Any, str] = {User: "user", Contact: "contact", Deal: "deal"}
    problems = [
        (f"{pointer}/{name}", f"there is no {names[model]} {values[name]}")
        for name, model in targets.items()
        if values.get(name) is not None and records.session.get(model, values[name]) is None
    ]
    if problems:
        raise Invalid.many(problems)


def check_unique(
    records: SqlRecords, values: Mapping[str, Any], own_id: int | None, pointer: str = ""
) -> None:
    """No other contact has this e-mail or phone (Conflict naming each)."""
    problems = []
    for name in ("email", "phone"):
        if values.get(name):
            column = col(Contact.email) if name == "email" else col(Contact.phone)
            other = records.session.execute(select(col(Contact.id)).where(column == values[name])).first()
            if other is not None and other[0] != own_id:
                message = f"{values[name]} belongs to contact {other[0]} already"
                problems.append((f"{pointer}/{name}", message))
    if problems:
        details = [{"path": p, "message": m} for p, m in problems]
        raise Conflict(f"{problems[0][0]}: {problems[0][1]}", details)


def _check_stage(records: SqlRecords, values: Mapping[str, Any], deal: Deal | None) -> None:
    pipeline = values.get("pipeline") if "pipeline" in values else (deal.pipeline if deal else None)
    if values.get("pipeline") is not None:
        known = [p for (p,) in records.session.execute(select(col(Pipeline.key)).order_by(col(Pipeline.key)))]
        if values["pipeline"] not in known:
            message = f"there is no pipeline {values['pipeline']!r}; known: {', '.join(known) or 'none'}"
            raise Invalid.at("/pipeline", message)
    if deal is not None and "stage" in values and values["stage"] is None:
        raise Invalid.at("/stage", "a deal's stage can be moved but not cleared")
    moving = deal is not None and "pipeline" in values and "stage" not in values
    stage = deal.stage if moving and deal is not None else values.get("stage")
    if stage is not None and pipeline:
        stages = [s["key"] for s in records.stages(pipeline)]
        if stages and stage not in stages:
            message = f"pipeline {pipeline!r} has no stage {stage!r}; its stages: {', '.join(stages)}"
            raise Invalid.at("/stage", message)


def _create_contact(records: SqlRecords, values: dict[str, Any]) -> dict[str, Any]:
    check_refs(records, values)
    check_unique(records, values, None)
    return records.put("contact", values)


def _create_deal(records: SqlRecords, values: dict[str, Any]) -> dict[str, Any]:
    check_refs(records, values)
    _check_stage(records, values, None)
    return records.put("deal", values)


def _create_task(records: SqlRecords, values: dict[str, Any]) -> dict[str, Any]:
    check_refs(records, values)
    task = records.create_task(values)
    return records.complete_task(int(task["id"])) if values.get("done") else task


def _update_contact(records: SqlRecords, row: Contact, values: dict[str, Any]) -> dict[str, Any]:
    check_refs(records, values)
    check_unique(records, values, row.id)
    return records.update("contact", row.id, values)


def _update_deal(records: SqlRecords, row: Deal, values: dict[str, Any]) -> dict[str, Any]:
    check_refs(records, values)
    _check_stage(records, values, row)
    return records.update("deal", row.id, values)


def _update_task(records: SqlRecords, row: Task, values: dict[str, Any]) -> dict[str, Any]:
    check_refs(records, values)
    done = values.pop("done", None)
    for name, value in values.items():
        setattr(row, name, value)
    if done is False and row.done:
        row.done, row.completed_at = False, None
    records.session.add(row)
    records.session.flush()
    return records.complete_task(int(row.id)) if done and not row.done else as_dict(row)  # type: ignore[arg-type]


def _announce(records: SqlRecords, kind: str, row: Any) -> None:
    subject = {"contact_id": row.id} if kind == "contact" else {"deal_id": row.id}
    records.emit(
        {
            "type": f"{kind}.deleted",
            "subject": subject,
            "data": {kind: as_dict(row)},
            "at": iso(records.clock()),
            "origin": "store",
        }
    )


def _delete_contact(records: SqlRecords, row: Contact) -> None:
    _announce(records, "contact", row)
    session = records.session
    session.execute(sql_update(Deal).where(col(Deal.contact_id) == row.id).values(contact_id=None))
    session.execute(sql_update(Task).where(col(Task.contact_id) == row.id).values(contact_id=None))
    session.execute(sql_delete(Activity).where(col(Activity.contact_id) == row.id))
    session.delete(row)
    session.flush()


def _delete_deal(records: SqlRecords, row: Deal) -> None:
    _announce(records, "deal", row)
    session = records.session
    session.execute(sql_update(Task).where(col(Task.deal_id) == row.id).values(deal_id=None))
    session.execute(sql_update(Activity).where(col(Activity.deal_id) == row.id).values(deal_id=None))
    session.delete(row)
    session.flush()


def _delete_task(records: SqlRecords, row: Task) -> None:
    records.session.delete(row)
    records.session.flush()


CREATORS: dict[str, Callable[[SqlRecords, dict[str, Any]], dict[str, Any]]] = {
    "contact": _create_contact,
    "deal": _create_deal,
    "task": _create_task,
}
UPDATERS: dict[str, Callable[[SqlRecords, Any, dict[str, Any]], dict[str, Any]]] = {
    "contact": _update_contact,
    "deal": _update_deal,
    "task": _update_task,
}
DELETERS: dict[str, Callable[[SqlRecords, Any], None]] = {
    "contact": _delete_contact,
    "deal": _delete_deal,
    "task": _delete_task,
}
