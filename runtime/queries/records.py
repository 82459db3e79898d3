"""Contacts, deals, tasks and users: get, create, update, delete, and search by a flow condition with
cursor pagination. Writes go through the record store (`runtime.records.SqlRecords`), so every change
emits its DESIGN §4 event and the flows listening to it run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from runtime import jobs
from runtime.conditions import Clock, fields_of
from runtime.host import DbHost
from runtime.models import Contact, Deal, Task, User
from runtime.queries import paging, where, writes
from runtime.queries.errors import Conflict, Invalid, NotFound
from runtime.queries.fields import clean
from runtime.records import as_dict
from runtime.services import Services

CHUNK = 500
MAX_SCAN = 5000  # rows one search request examines at most; the cursor carries on from there


def _public(row: SQLModel) -> dict[str, Any]:
    return as_dict(row)


def _user(row: SQLModel) -> dict[str, Any]:
    data = as_dict(row)
    data.pop("password_hash", None)
    return data


@dataclass(frozen=True)
class Kind:
    """How one record kind is searched: its table, the field roots a condition may use, the columns
    a plain eq/in may be pushed to SQL on, and how a row is shown."""

    name: str
    model: Any
    roots: tuple[str, ...]
    columns: dict[str, tuple[str, Any]] = field(default_factory=dict)
    show: Callable[[SQLModel], dict[str, Any]] = _public


KINDS: dict[str, Kind] = {
    "contact": Kind(
        "contact",
        Contact,
        ("contact",),
        {
            "id": ("int", col(Contact.id)),
            "owner": ("int", col(Contact.owner)),
            "email": ("text", col(Contact.email)),
            "status": ("text", col(Contact.status)),
            "subscribed": ("bool", col(Contact.subscribed)),
            "bounced": ("bool", col(Contact.bounced)),
            "last_contact_at": ("time", col(Contact.last_contact_at)),
            "created_at": ("time", col(Contact.created_at)),
            "updated_at": ("time", col(Contact.updated_at)),
        },
    ),
    "deal": Kind(
        "deal",
        Deal,
        ("deal", "contact"),
        {
            "id": ("int", col(Deal.id)),
            "contact_id": ("int", col(Deal.contact_id)),
            "owner": ("int", col(Deal.owner)),
            "pipeline": ("text", col(Deal.pipeline)),
            "stage": ("text", col(Deal.stage)),
            "currency": ("text", col(Deal.currency)),
            "stage_entered_at": ("time", col(Deal.stage_entered_at)),
            "created_at": ("time", col(Deal.created_at)),
        },
    ),
    "task": Kind(
        "task",
        Task,
        ("task",),
        {
            "id": ("int", col(Task.id)),
            "assignee": ("int", col(Task.assignee)),
            "contact_id": ("int", col(Task.contact_id)),
            "deal_id": ("int", col(Task.deal_id)),
            "done": ("bool", col(Task.done)),
            "due_at": ("time", col(Task.due_at)),
        },
    ),
    "user": Kind(
        "user",
        User,
        ("user",),
        {"id": ("int", col(User.id)), "email": ("text", col(User.email)), "away": ("bool", col(User.away))},
        _user,
    ),
}


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise NotFound(f"unknown record kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


# ---------------------------------------------------------------- search


def search(
    services: Services,
    kind: str,
    condition: Any = None,
    *,
    limit: Any = None,
    cursor: str | None = None,
    pointer: str = "/where",
) -> paging.Page:
    """Records of `kind` matching `condition` (None: all), by ascending id, one page at a time."""
    spec = _kind(kind)
    size = paging.check_limit(limit)
    after = paging.decode(cursor)
    if after is not None and not isinstance(after, int):
        raise Invalid.at("/cursor", paging.BAD_CURSOR)
    if condition is not None:
        where.check(condition, spec.roots, pointer)
    clock = Clock(now=services.now())
    clauses = where.prefilter(condition, kind, spec.columns, clock) if condition is not None else []
    chunk = size + 1 if condition is None else CHUNK
    page = paging.Page()
    scanned = 0
    with Session(services.engine) as session:
        while True:
            query = select(spec.model).where(*clauses).order_by(spec.model.id).limit(chunk)
            if after is not None:
                query = query.where(spec.model.id > after)
            rows = list(session.execute(query).scalars())
            for row, scope in zip(rows, _scopes(session, kind, rows, condition), strict=True):
                after, scanned = row.id, scanned + 1
                if condition is None or where.matches(condition, scope, clock, pointer):
                    page.items.append(spec.show(row))
                    if len(page.items) == size:
                        more = _more(session, spec, clauses, row.id)
                        page.next_cursor = paging.encode(row.id) if more else None
                        return page
            if len(rows) < chunk:
                return page
            if scanned >= MAX_SCAN:
                page.next_cursor = paging.encode(after)
                return page


def _more(session: Session, spec: Kind, clauses: list[Any], after: int) -> bool:
    query = select(spec.model.id).where(*clauses, spec.model.id > after).limit(1)
    return session.execute(query).first() is not None


def _scopes(session: Session, kind: str, rows: list[Any], condition: Any) -> list[dict[str, Any]]:
    """What each row's condition sees: `{kind: record}`, plus the deal's contact when it is asked for."""
    scopes: list[dict[str, Any]] = [{kind: KINDS[kind].show(row)} for row in rows]
    wants_contact = kind == "deal" and any(
        str(f).startswith("contact.") for _, f in fields_of(condition or {})
    )
    if wants_contact:
        ids = {row.contact_id for row in rows if row.contact_id is not None}
        found = session.execute(select(Contact).where(col(Contact.id).in_(ids))).scalars()
        contacts = {c.id: as_dict(c) for c in found}
        for scope, row in zip(scopes, rows, strict=True):
            if row.contact_id in contacts:
                scope["contact"] = contacts[row.contact_id]
    return scopes


# ---------------------------------------------------------------- one record


def get(services: Services, kind: str, key: Any) -> dict[str, Any]:
    """A record by id (a contact also by e-mail or phone)."""
    spec = _kind(kind)
    with Session(services.engine) as session:
        row = find_row(session, spec, key)
        if row is None:
            raise NotFound(f"there is no {kind} {key}")
        return spec.show(row)


def find_row(session: Session, spec: Kind, key: Any) -> Any:
    text = str(key).strip()
    if text.isdigit() and len(text) < 19:
        return session.get(spec.model, int(text))
    if spec.name == "contact" and text:
        column = col(Contact.email) if "@" in text else col(Contact.phone)
        value = text.lower() if "@" in text else text
        return session.execute(select(Contact).where(column == value)).scalars().first()
    return None


WRITABLE = ("contact", "deal", "task")


def create(services: Services, kind: str, fields: Any) -> dict[str, Any]:
    """A new contact, deal or task; emits `<kind>.created` (and `deal.stage_changed` with a stage)."""
    if kind not in WRITABLE:
        raise NotFound(f"{kind} records cannot be created here; writable kinds: {', '.join(WRITABLE)}")
    values = clean(kind, fields)
    if kind == "task" and "title" not in values:
        raise Invalid.at("/title", "a task needs a title")
    return _write(services, lambda host: writes.CREATORS[kind](host.records, values))


def update(services: Services, kind: str, record_id: Any, fields: Any) -> dict[str, Any]:
    """Change some fields of a record; emits `<kind>.updated` with the changes."""
    if kind not in WRITABLE:
        raise NotFound(f"{kind} records cannot be changed here; writable kinds: {', '.join(WRITABLE)}")
    values = clean(kind, fields)

    def change(host: DbHost) -> dict[str, Any]:
        row = find_row(host.session, KINDS[kind], record_id)
        if row is None:
            raise NotFound(f"there is no {kind} {record_id}")
        return writes.UPDATERS[kind](host.records, row, values)

    return _write(services, change)


def delete(services: Services, kind: str, record_id: Any) -> None:
    """Remove a record; references to it are cleared and `<kind>.deleted` is emitted first, so flows
    can end the runs about it (`exit_on`)."""
    if kind not in WRITABLE:
        raise NotFound(f"{kind} records cannot be deleted here; writable kinds: {', '.join(WRITABLE)}")

    def remove(host: DbHost) -> dict[str, Any]:
        row = find_row(host.session, KINDS[kind], record_id)
        if row is None:
            raise NotFound(f"there is no {kind} {record_id}")
        writes.DELETERS[kind](host.records, row)
        return {}

    _write(services, remove)


def _write(services: Services, work: Callable[[DbHost], dict[str, Any]]) -> dict[str, Any]:
    with Session(services.engine, expire_on_commit=False) as session:
        host = DbHost(services, session)
        try:
            result = work(host)
            session.commit()
        except IntegrityError:
            session.rollback()
            raise Conflict("the change collides with another record (an e-mail or phone taken)") from None
        except LookupError as exc:
            session.rollback()
            raise Invalid(str(exc).strip("'\"")) from None
    jobs.push(services.redis, host.followups)
    return result
