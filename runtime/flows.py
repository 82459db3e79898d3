"""Flows as the editor sees them: list, read, save drafts (kept even with problems, reported back),
validate, import documents and bundles. Publishing and versions live in runtime.publish."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.models import Flow as FlowRow
from runtime.models import FlowHook
from runtime.services import Services
from runtime.validation import Problem, validate_flow

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,119}$")
RESERVED_KEYS = frozenset({"import", "validate"})  # /api/flows/import and /api/flows/validate
SUBJECTS = ("contact", "deal", "none")  # schemas/flow.schema.json's subject enum


class DraftRefused(ValueError):
    """A document that cannot even be stored as a draft; `pointer` says where."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.pointer = pointer


def problems_dicts(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"path": p.pointer, "message": p.message, "severity": p.severity} for p in problems]


def validate(services: Services, document: Any) -> list[Problem]:
    return validate_flow(document, services.registry)


def _name(document: Mapping[str, Any], key: str) -> str:
    """The name people see; the key when a draft's `name` is missing or not a string."""
    name = document.get("name")
    return name[:500] if isinstance(name, str) and name.strip() else key


def _summary(row: FlowRow, hook: bool = False) -> dict[str, Any]:
    """The list row of a flow. A draft may be malformed (drafts are kept with their problems), so each
    field is taken only when it has the type the API documents, else left out (null, or no trigger)."""
    document = row.document if isinstance(row.document, Mapping) else {}
    triggers = document.get("triggers")
    return {
        "key": row.key,
        "name": _name(document, row.key),
        "subject": document.get("subject") if document.get("subject") in SUBJECTS else None,
        "published_version": row.published_version,
        "triggers": [t["type"] for t in triggers if isinstance(t, Mapping) and isinstance(t.get("type"), str)]
        if isinstance(triggers, list) else [],
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def list_flows(services: Services) -> list[dict[str, Any]]:
    with Session(services.engine) as session:
        return [_summary(r) for r in session.execute(select(FlowRow).order_by(FlowRow.key)).scalars()]


def get_flow(services: Services, key: str) -> dict[str, Any]:
    with Session(services.engine) as session:
        row = session.execute(select(FlowRow).where(FlowRow.key == key)).scalars().first()
        if row is None:
            raise LookupError(f"there is no flow {key!r}")
        problems = validate(services, row.document)
        return {**_summary(row), "document": row.document, "problems": problems_dicts(problems)}


def check_key(document: Any, key: str | None = None) -> str:
    if not isinstance(document, Mapping):
        raise DraftRefused("a flow document is a JSON object")
    found = document.get("key")
    if not isinstance(found, str) or not KEY_RE.match(found):
        raise DraftRefused("key: a flow key is 1 to 120 lower-case letters, digits, - or _", "/key")
    if not isinstance(document.get("format", ""), str):
        raise DraftRefused("format: a flow document's format is a string such as 'flowright/v1'", "/format")
    if found in RESERVED_KEYS:
        raise DraftRefused(f"key: {found!r} is reserved: /api/flows/{found} is not a flow's URL", "/key")
    if key is not None and found != key:
        raise DraftRefused(f"key: the document's key {found!r} is not {key!r}, the flow in the URL", "/key")
    return found


def save_draft(services: Services, document: Any, key: str | None = None) -> tuple[str, list[Problem], bool]:
    """Store the draft whatever its problems (so work in progress is never lost); publish refuses errors.

    Returns (key, problems, created)."""
    key = check_key(document, key)
    problems = validate(services, document)
    with Session(services.engine, expire_on_commit=False) as session:
        row = session.execute(select(FlowRow).where(FlowRow.key == key)).scalars().first()
        created = row is None
        row = row or FlowRow(key=key, created_at=services.now())
        row.document, row.name, row.updated_at = dict(document), _name(document, key), services.now()
        session.add(row)
        session.commit()
    return key, problems, created


def delete_flow(services: Services, key: str) -> None:
    """Delete a flow that was never published (published ones keep their history)."""
    with Session(services.engine) as session:
        row = session.execute(select(FlowRow).where(FlowRow.key == key)).scalars().first()
        if row is None:
            raise LookupError(f"there is no flow {key!r}")
        if row.published_version is not None:
            raise DraftRefused(f"flow {key!r} was published; it cannot be deleted")
        for hook in session.execute(select(FlowHook).where(FlowHook.flow_key == key)).scalars():
            session.delete(hook)
        session.delete(row)
        session.commit()


def documents_of(body: Any) -> list[Any]:
    """Flow documents in an import body: one document, a list of them, or a bundle's `flows`."""
    if isinstance(body, Mapping) and isinstance(body.get("flows"), list):
        return list(body["flows"])
    if isinstance(body, list):
        return list(body)
    return [body]
