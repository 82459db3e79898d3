"""Event ingestion: store an event once (its id is the primary key), resolve its subject, apply it.

`accept` is the one door every event passes, whether it came from the API, the CLI or a change in
the record store: it upserts a subject given by e-mail or phone, refuses a repeated id, keeps
`last_contact_at`, `last_opened_at` (on an opened mail) and the activity timeline up to date and
writes the event for the drain to match (`runtime.dispatch`). It never starts a run itself: the
drain does, so the API answers in milliseconds.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from runtime import subjects
from runtime.durations import RANGE_RULE, in_range, iso, to_datetime
from runtime.errors import EventInvalid
from runtime.limits import json_problem
from runtime.models import Deal, Event
from runtime.records import SqlRecords

TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_][a-z0-9_\-]*)+$")
# Events that count as contact with the person ("no contact for 30 days" rules read last_contact_at).
CONTACT_EVENTS = frozenset(
    {
        "email.sent",
        "email.replied",
        "sms.sent",
        "sms.received",
        "meeting.booked",
        "call.logged",
        "form.submitted",
    }
)


@dataclass(frozen=True)
class Accepted:
    id: str
    type: str
    new: bool


def _patch_stage(records: SqlRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    if subject.get("deal_id") and data.get("to"):
        records.move_stage(subject["deal_id"], str(data["to"]), data.get("pipeline"))


def _patch_fields(kind: str) -> Callable[[SqlRecords, Mapping[str, Any], Mapping[str, Any]], None]:
    def patch(records: SqlRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        changes = data.get("changes") if isinstance(data.get("changes"), Mapping) else None
        if subject.get(f"{kind}_id") and changes:
            records.update(kind, subject[f"{kind}_id"], changes)

    return patch


def _patch_contact(**values: Any) -> Callable[[SqlRecords, Mapping[str, Any], Mapping[str, Any]], None]:
    def patch(records: SqlRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        if subject.get("contact_id"):
            records.update("contact", subject["contact_id"], values)

    return patch


SOFT_BOUNCES = frozenset({"soft", "transient", "temporary", "softbounce", "soft_bounce", "deferred"})


def is_hard_bounce(data: Mapping[str, Any]) -> bool:
    """Whether an `email.bounced` event marks the address as undeliverable. Providers name a temporary
    failure (mailbox full, greylisted) a soft, transient or temporary bounce (`kind`, `type` or
    `bounce_type`), or give a 4xx SMTP code; those leave the contact mailable. Anything else is hard."""
    for name in ("kind", "type", "bounce_type", "bounceType"):
        if str(data.get(name) or "").strip().lower().replace("-", "_") in SOFT_BOUNCES:
            return False
    return not str(data.get("code") or data.get("status") or "").strip().startswith("4")


def _patch_bounce(records: SqlRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    if subject.get("contact_id") and is_hard_bounce(data):
        records.update("contact", subject["contact_id"], {"bounced": True})


# What an event from outside tells the record store (events the store emitted itself are not re-applied).
EVENT_PATCHES: dict[str, Callable[[SqlRecords, Mapping[str, Any], Mapping[str, Any]], None]] = {
    "deal.stage_changed": _patch_stage,
    "deal.updated": _patch_fields("deal"),
    "contact.updated": _patch_fields("contact"),
    "contact.unsubscribed": _patch_contact(subscribed=False),
    "email.bounced": _patch_bounce,
}


def normalise(raw: Any, now: datetime) -> dict[str, Any]:
    """The event with an id, a checked type, an aware `at` and dict `subject`/`data`."""
    if not isinstance(raw, Mapping):
        raise EventInvalid("an event is a JSON object")
    event_type = raw.get("type")
    if not isinstance(event_type, str) or not TYPE_RE.match(event_type):
        message = f"{event_type!r} is not an event type such as deal.stage_changed"
        raise EventInvalid.many([("/type", message)])
    event_id = raw.get("id")
    if event_id is None:
        event_id = uuid.uuid4().hex
    if not isinstance(event_id, str | int) or isinstance(event_id, bool) or not 0 < len(str(event_id)) <= 120:
        raise EventInvalid.many([("/id", "an event id is a string of 1 to 120 characters")])
    for name in ("subject", "data"):
        if raw.get(name) is not None and not isinstance(raw.get(name), Mapping):
            raise EventInvalid.many([(f"/{name}", "must be an object")])
        problem = json_problem(raw.get(name), f"/{name}")
        if problem:
            raise EventInvalid.many([problem])
    at = to_datetime(raw["at"]) if raw.get("at") is not None else now
    if at is None:
        raise EventInvalid.many([("/at", f"{raw.get('at')!r} is not an ISO datetime")])
    if not in_range(at):
        raise EventInvalid.many([("/at", RANGE_RULE)])
    return {
        "id": str(event_id),
        "type": event_type,
        "subject": dict(raw.get("subject") or {}),
        "data": dict(raw.get("data") or {}),
        "at": at,
        "origin": raw.get("origin"),
    }


_RECORD_REFERENCE = re.compile(r"^(contact|deal):([0-9]{1,10})$")
MAX_ID = 2**31 - 1


def resolve_reference(records: SqlRecords, reference: Any) -> tuple[int | None, int | None]:
    """(contact_id, deal_id) named by a review's reference (a Trustpilot webhook carries no e-mail, only
    the invitation's `referenceNumber`): `deal:<id>` or `contact:<id>` (what reviews.request sends when
    no reference is given), an e-mail address of a known contact, or the name of exactly one deal.
    Anything else names no record: the event is kept without a subject rather than refused, so that a
    review is never lost because its reference was free text."""
    text = str(reference).strip() if isinstance(reference, str | int) else ""
    if not text:
        return None, None
    named = _RECORD_REFERENCE.match(text)
    if named:
        kind, record_id = named.group(1), int(named.group(2))
        record = records.get(kind, record_id) if record_id <= MAX_ID else None
        if record is None:
            return None, None
        return (record_id, None) if kind == "contact" else (record.get("contact_id"), record_id)
    if "@" in text:
        contact = records.find_contact(text)
        return (int(contact["id"]), None) if contact else (None, None)
    deals = records.session.execute(select(Deal).where(col(Deal.name) == text).limit(2)).scalars().all()
    if len(deals) == 1:
        return deals[0].contact_id, deals[0].id
    return None, None


def resolve_subject(records: SqlRecords, subject: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(contact_id, deal_id) of a subject; a contact given by e-mail or phone is upserted; a subject given
    only as `{"reference": ...}` is looked up by `resolve_reference`."""
    if set(subject) == {"reference"}:
        return resolve_reference(records, subject["reference"])
    return subjects.resolve(records, subject)


def accept(session: Session, raw: Any, records: SqlRecords) -> Accepted:
    """Store one event unless its id is known; the caller commits and then queues `e:<id>`."""
    event = normalise(raw, records.clock())
    if session.get(Event, event["id"]) is not None:
        return Accepted(event["id"], event["type"], False)
    contact_id, deal_id = resolve_subject(records, event["subject"])
    subject = {k: v for k, v in (("contact_id", contact_id), ("deal_id", deal_id)) if v is not None}
    if event["type"] == "deal.stage_changed" and deal_id is not None and "from" not in event["data"]:
        event["data"]["from"] = (records.get("deal", deal_id) or {}).get("stage")
    row = Event(
        id=event["id"],
        type=event["type"],
        subject=subject,
        data=_jsonable(event["data"]),
        contact_id=contact_id,
        deal_id=deal_id,
        at=event["at"],
        received_at=records.clock(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same id posted at the same moment elsewhere
        return Accepted(event["id"], event["type"], False)
    if event.get("origin") != "store":
        patch = EVENT_PATCHES.get(event["type"])
        if patch:
            with _echo_muted(records, event["type"]):
                patch(records, subject, event["data"])
    if event["type"] in CONTACT_EVENTS and contact_id is not None:
        records.touch_contact(contact_id, event["at"])
    if event["type"] == "email.opened" and contact_id is not None:
        records.touch_opened(contact_id, event["at"])
    if contact_id is not None or deal_id is not None:
        records.record_activity(
            event["type"], row.data, contact_id=contact_id, deal_id=deal_id, event_id=row.id, at=event["at"]
        )
    return Accepted(event["id"], event["type"], True)


@contextmanager
def _echo_muted(records: SqlRecords, event_type: str) -> Iterator[None]:
    """While an outside event is applied to the store, the store's own event of the same type is that
    event's echo: dropped, so one stage change posted from outside starts one run, not two."""
    emit = records.emit

    def muted(event: dict[str, Any]) -> None:
        if event.get("type") != event_type:
            emit(event)

    records.emit = muted
    try:
        yield
    finally:
        records.emit = emit


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
