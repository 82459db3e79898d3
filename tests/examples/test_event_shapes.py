"""The library's cases against the events Flowright really produces.

A case's `trigger` (the data of the event that starts the run) and the data of its `events` are written
by hand; for the events the record store emits itself (DESIGN §7) that hand-written data must be the
store's. Each such event is made here by the real SQL record store (`runtime.records.SqlRecords`) from
the case's own subject, and the case is checked against it: its keys are keys the store sends, and the
flow's trigger `where`, evaluated as dispatch does (the event's data and the subject's stored records),
starts the run exactly when the case says it does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from connectors.mail import tracking
from runtime.bundles import Bundle, list_bundles, resolve_flows
from runtime.conditions import Clock, evaluate
from runtime.db import make_engine, upgrade
from runtime.durations import to_datetime
from runtime.records import SqlRecords

# The events the record store emits, and the ones Flowright's own tracking endpoints emit.
STORE_EVENTS = frozenset({
    "contact.created", "contact.updated", "contact.unsubscribed", "contact.deleted",
    "deal.created", "deal.updated", "deal.stage_changed", "deal.deleted",
    "task.created", "task.completed",
})
TRACKING_EVENTS = {"email.opened": "open", "email.clicked": "click", "contact.unsubscribed": "unsubscribe"}
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('shapes') / 'flowright.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


class Store:
    """A SqlRecords on a session that is rolled back afterwards, keeping every event it emits."""

    def __init__(self, session: Session) -> None:
        self.events: list[dict[str, Any]] = []
        self.records = SqlRecords(session, lambda: START, self.events.append)

    def last(self, event_type: str) -> dict[str, Any]:
        return next(e for e in reversed(self.events) if e["type"] == event_type)


def _subject(store: Store, case: dict[str, Any], event_type: str) -> tuple[int | None, int | None]:
    """The case's records in the store, as they were before the event: a deal whose stage is about to
    change is made without it, a record about to be updated without the fields that change."""
    subject = case.get("subject") or {}
    contact_id = deal_id = None
    trigger = case.get("trigger") or {}
    changed = set(trigger.get("changes") or {}) if event_type.endswith(".updated") else set()
    if event_type == "contact.unsubscribed":
        changed.add("subscribed")
    if subject.get("contact"):
        contact = {k: v for k, v in subject["contact"].items() if k not in changed}
        contact_id = int(store.records.put("contact", contact)["id"])
    if subject.get("deal"):
        deal = {**{k: v for k, v in subject["deal"].items() if k not in changed}, "contact_id": contact_id}
        if event_type == "deal.stage_changed":
            deal.pop("stage", None)
        deal_id = int(store.records.put("deal", deal)["id"])
    return contact_id, deal_id


def real_data(
    store: Store, event_type: str, case: dict[str, Any], data: dict[str, Any]
) -> list[dict[str, Any]]:
    """The data the store (or tracking) really sends for this event about the case's subject, made by
    doing what causes it; more than one shape when more than one part of Flowright sends the event."""
    contact_id, deal_id = _subject(store, case, event_type)
    records = store.records
    shapes: list[dict[str, Any]] = []
    if event_type == "deal.created":
        shapes.append(store.last("deal.created")["data"])
    elif event_type == "contact.created":
        shapes.append(store.last("contact.created")["data"])
    elif event_type == "deal.stage_changed":
        if data.get("from"):
            records.update("deal", deal_id, {"stage": data["from"]})
        records.move_stage(deal_id, str(data.get("to") or (case["subject"]["deal"].get("stage"))))
        shapes.append(store.last("deal.stage_changed")["data"])
    elif event_type in ("deal.updated", "contact.updated"):
        kind = event_type.split(".")[0]
        changes = data.get("changes") or {k: v for k, v in data.items() if k != "changes"}
        records.update(kind, deal_id if kind == "deal" else contact_id, {"zz_probe": 1, **changes})
        shapes.append(store.last(event_type)["data"])
    elif event_type == "contact.unsubscribed":
        records.update("contact", contact_id, {"subscribed": False})
        shapes.append(store.last("contact.unsubscribed")["data"])
    elif event_type in ("task.created", "task.completed"):
        task = records.create_task({"title": data.get("title") or "Task", "contact_id": contact_id,
                                    "deal_id": deal_id, "due_at": START})
        records.complete_task(int(task["id"]))
        shapes.append(store.last(event_type)["data"])
    elif event_type in ("deal.deleted", "contact.deleted"):
        kind = event_type.split(".")[0]
        shapes.append({kind: records.get(kind, deal_id if kind == "deal" else contact_id)})
    if event_type in TRACKING_EVENTS:
        token = {"c": contact_id, "e": "a@example.com", "m": "<m@x>", "r": "run", "n": "node", "u": "https://x"}
        extra = {"one_click": True} if event_type == "contact.unsubscribed" else {"ip": "", "user_agent": ""}
        shapes.append(tracking.event_for(TRACKING_EVENTS[event_type], token, extra=extra)["data"])
    return shapes


def _cases() -> Iterator[tuple[Bundle, Path, dict[str, Any], dict[str, Any], str]]:
    """(bundle, case file, case, flow, event type) for each case started by a store or tracking event."""
    for bundle in list_bundles():
        flows = {flow["key"]: flow for flow in resolve_flows(bundle.document)}
        for path in bundle.case_files():
            case = json.loads(path.read_text(encoding="utf-8"))
            flow = flows[case["flow"]]
            types = [t["event"] for t in flow["triggers"] if t["type"] == "event"
                     and case.get("event") in (None, t["event"])]
            if len(types) == 1 and (types[0] in STORE_EVENTS or types[0] in TRACKING_EVENTS):
                yield bundle, path, case, flow, types[0]


CASES = list(_cases())


@pytest.mark.parametrize(("bundle", "path", "case", "flow", "event_type"), CASES,
                         ids=[f"{b.name}/{p.stem}" for b, p, *_ in CASES])
def test_trigger_data_is_what_flowright_sends(
    engine: Engine, bundle: Bundle, path: Path, case: dict[str, Any], flow: dict[str, Any], event_type: str
) -> None:
    given = dict(case.get("trigger") or {})
    with Session(engine) as session:
        store = Store(session)
        shapes = real_data(store, event_type, case, given)
        scope_records = {
            kind: store.records.get(kind, event["subject"].get(f"{kind}_id"))
            for event in store.events[-1:] for kind in ("contact", "deal")
            if event["subject"].get(f"{kind}_id") is not None
        }
        session.rollback()
    unknown = [sorted(set(given) - set(shape)) for shape in shapes]
    sent = [sorted(shape) for shape in shapes]
    assert [] in unknown, f"{event_type} carries no {min(unknown, key=len)} (it sends {sent})"
    trigger = next(t for t in flow["triggers"] if t.get("event") == event_type)
    if trigger.get("where") is None:
        return
    start = to_datetime(case.get("start", "2026-03-02T09:00:00Z"))
    assert start is not None
    tz = ZoneInfo((flow.get("settings") or {}).get("timezone", "UTC"))
    expected = (case.get("expect") or {}).get("started", True) is not False
    for shape in shapes:
        if set(given) - set(shape):
            continue
        scope = {"event": shape, "trigger": shape, "vars": {}, "steps": {}, "now": start, **scope_records}
        assert evaluate(trigger["where"], scope, Clock(start, tz)) == expected, (
            f"on the real {event_type} {shape} the trigger "
            f"{'does not start' if expected else 'starts'} the flow")


@pytest.mark.parametrize("bundle", list_bundles(), ids=lambda b: b.name)
def test_store_events_in_cases_carry_what_the_store_sends(engine: Engine, bundle: Bundle) -> None:
    """The data of store events delivered during a case (a task completed, a stage changed) has only
    keys the store's event has."""
    for path in bundle.case_files():
        case = json.loads(path.read_text(encoding="utf-8"))
        for event in case.get("events") or []:
            if event["type"] not in STORE_EVENTS:
                continue
            with Session(engine) as session:
                shapes = real_data(Store(session), event["type"], case, dict(event.get("data") or {}))
                session.rollback()
            given = set(event.get("data") or {})
            assert any(given <= set(shape) for shape in shapes), (
                f"{path.name}: {event['type']} data {sorted(given)}; "
                f"the store sends {[sorted(s) for s in shapes]}")
