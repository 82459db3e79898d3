"""An event's subject (DESIGN §4: `{"contact": {...}}`, `{"contact_id": 7}`, `{"deal_id": 3}`), checked
and resolved to (contact_id, deal_id) for ingestion.

Every door that ingests events (POST /api/events, POST /hooks/<token>, `flowright events post`, the
tracking links) passes `runtime.ingest.accept`, which calls `resolve`: a contact given by its fields goes
through the same checks as POST /api/contacts (runtime.queries.fields and writes) before it is upserted,
so what an event writes into the record store is never something the records API would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from runtime.errors import EventInvalid
from runtime.models import Contact, Deal
from runtime.queries.errors import Conflict, Invalid
from runtime.queries.fields import ID_RULE, clean, is_id
from runtime.queries.writes import check_refs, check_unique
from runtime.records import SqlRecords

Problems = list[tuple[str, str]]


def _record_id(name: str) -> Callable[[Any, Problems], None]:
    def check(value: Any, problems: Problems) -> None:
        if not is_id(value):
            problems.append((f"/subject/{name}", ID_RULE))

    return check


def _contact(value: Any, problems: Problems) -> None:
    pointer = "/subject/contact"
    if not isinstance(value, Mapping):
        problems.append((pointer, "a contact is an object of contact fields with an email or a phone"))
        return
    if value.get("id") is not None:
        if not is_id(value["id"]):
            problems.append((f"{pointer}/id", ID_RULE))
    elif not value.get("email") and not value.get("phone"):
        problems.append((pointer, "needs an email or a phone"))
    try:
        clean("contact", value, pointer)
    except Invalid as exc:
        problems.extend((d["path"], d["message"]) for d in exc.details)


# The keys a subject may have, each with its shape check.
SUBJECT_KEYS: dict[str, Callable[[Any, Problems], None]] = {
    "contact": _contact,
    "contact_id": _record_id("contact_id"),
    "deal_id": _record_id("deal_id"),
}


def problems_of(subject: Mapping[str, Any]) -> Problems:
    """Every problem of the subject's shape and fields, without reading the store."""
    problems: Problems = []
    for key, value in subject.items():
        check = SUBJECT_KEYS.get(key)
        if check is None:
            known = ", ".join(SUBJECT_KEYS)
            problems.append((f"/subject/{_escape(key)}", f"a subject has no key {key!r}; its keys: {known}"))
        else:
            check(value, problems)
    return problems


def resolve(records: SqlRecords, subject: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(contact_id, deal_id) of a checked subject; a contact given by e-mail or phone is upserted."""
    problems = problems_of(subject)
    if problems:
        raise EventInvalid.many(problems)
    contact_id: int | None = subject.get("contact_id")
    deal_id: int | None = subject.get("deal_id")
    given = subject.get("contact")
    if given is not None:
        contact_id = given["id"] if given.get("id") is not None else _upsert(records, given)
    if deal_id is not None:
        deal = records.session.get(Deal, deal_id)
        if deal is None:
            raise EventInvalid.many([("/subject/deal_id", f"there is no deal {deal_id}")])
        contact_id = contact_id if contact_id is not None else deal.contact_id
    if contact_id is not None and records.session.get(Contact, contact_id) is None:
        where = "/subject/contact/id" if given is not None else "/subject/contact_id"
        raise EventInvalid.many([(where, f"there is no contact {contact_id}")])
    return contact_id, deal_id


def _upsert(records: SqlRecords, given: Mapping[str, Any]) -> int:
    """The contact with this e-mail or phone, made or updated with the given fields once they pass the
    records API's checks (references, and no other contact holding the e-mail or phone)."""
    fields = clean("contact", given, "/subject/contact")
    try:
        check_refs(records, fields, "/subject/contact")
        check_unique(records, fields, _match(records, fields), "/subject/contact")
    except (Invalid, Conflict) as exc:
        raise EventInvalid.many([(d["path"], d["message"]) for d in exc.details]) from None
    return records.upsert_contact(fields)


def _match(records: SqlRecords, fields: Mapping[str, Any]) -> int | None:
    """The id of the contact the upsert will update: the one with this e-mail, else this phone."""
    for name, column in (("email", col(Contact.email)), ("phone", col(Contact.phone))):
        if fields.get(name):
            found = records.session.execute(select(col(Contact.id)).where(column == fields[name])).first()
            if found is not None:
                return int(found[0])
    return None


def _escape(name: Any) -> str:
    return str(name).replace("~", "~0").replace("/", "~1")
