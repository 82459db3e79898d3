"""What an ingested event does: start the flows whose triggers it matches (found through the trigger
index by event type), move or end the live runs about its subject (the `wait` table, `exit_on`,
`exit_when`), and start segment flows whose condition the subject now meets. Runs in the drain job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, union

from runtime import interpreter
from runtime.conditions import Clock, evaluate
from runtime.errors import FlowrightError
from runtime.flow import Flow
from runtime.host import DbHost, primary_key, subject_keys
from runtime.models import Event, FlowVersion, Run, TriggerIndex, TriggerMark, Wait
from runtime.run import LIVE

log = logging.getLogger("flowright.dispatch")
RUN_NAMESPACE = uuid.UUID("5a0c3f8e-7a53-4c2e-9d0b-6f1e2b7c9a41")
STARTING_KINDS = ("event", "webhook")


def run_id_for(event_id: str, flow_key: str, position: int) -> str:
    """The same event starts the same flow at most once, however often the drain sees it."""
    return uuid.uuid5(RUN_NAMESPACE, f"{event_id}:{flow_key}:{position}").hex


def subject_for(flow: Flow, contact_id: int | None, deal_id: int | None) -> dict[str, Any] | None:
    """The subject a run of `flow` gets from an event's records, or None when the flow cannot run on it."""
    if flow.subject == "deal":
        return {"deal_id": deal_id, "contact_id": contact_id} if deal_id is not None else None
    if flow.subject == "contact":
        return {"contact_id": contact_id} if contact_id is not None else None
    return {}


def _scope(host: DbHost, subject: Mapping[str, Any], data: Mapping[str, Any] | None) -> dict[str, Any]:
    scope: dict[str, Any] = {"now": host.now(), "trigger": dict(data or {}), "vars": {}, "steps": {}}
    if data is not None:
        scope["event"] = dict(data)
    for kind in ("contact", "deal"):
        if subject.get(f"{kind}_id") is not None:
            record = host.records.get(kind, subject[f"{kind}_id"])
            if record is not None:
                scope[kind] = record
    return scope


def _holds(
    flow: Flow, condition: Mapping[str, Any] | None, scope: Mapping[str, Any], now: Any, where: str
) -> bool:
    if not condition:
        return True
    try:
        return evaluate(condition, scope, Clock(now, flow.timezone), where)
    except FlowrightError:
        log.exception(
            "flow %s: the condition at %s cannot be evaluated; the trigger is skipped", flow.key, where
        )
        return False


def handle_event(host: DbHost, event_id: str) -> None:
    event = host.session.get(Event, event_id)
    if event is None or event.processed_at is not None:
        return
    started = start_triggered(host, event)
    deliver(host, event, exclude=started)
    if event.contact_id is not None or event.deal_id is not None:
        check_segments(host, event.contact_id, event.deal_id)
    event.processed_at = host.now()
    host.session.add(event)


@dataclass(frozen=True)
class Trigger:
    """A trigger of a published version as plain values (a batch keeps them; see `_triggers`)."""

    flow_key: str
    version: int
    position: int
    spec: dict[str, Any]


def _triggers(host: DbHost, kind: str, event_type: str | None = None) -> list[Trigger]:
    """The triggers of a kind (of an event type), read once per batch: a batch lasts seconds, and a
    version published meanwhile is seen by the next one. Two events of a type cost one query, not two."""
    key = f"{kind}:{event_type or ''}"
    cached = host.cache.get(key)
    if cached is None:
        kinds = STARTING_KINDS if kind == "starting" else (kind,)
        query = select(TriggerIndex).where(TriggerIndex.kind.in_(kinds))
        if event_type is not None:
            query = query.where(TriggerIndex.event_type == event_type)
        rows = host.session.execute(query.order_by(TriggerIndex.id)).scalars()
        cached = [Trigger(r.flow_key, r.version, r.position, dict(r.spec or {})) for r in rows]
        host.cache[key] = cached
    return list(cached)


def start_triggered(host: DbHost, event: Event) -> set[str]:
    started: set[str] = set()
    for trigger in _triggers(host, "starting", event.type):
        flow = host.services.flow(host.session, trigger.flow_key, trigger.version)
        subject = subject_for(flow, event.contact_id, event.deal_id)
        if subject is None:
            continue
        scope = _scope(host, subject, event.data)
        if not _holds(
            flow, trigger.spec.get("where"), scope, host.now(), f"/triggers/{trigger.position}/where"
        ):
            continue
        run = host.new_run(
            flow, subject, event.data, run_id_for(event.id, flow.key, trigger.position), event.id
        )
        if run is not None:
            started.add(run.id)
            interpreter.advance(flow, run, host)
    return started


def deliver(host: DbHost, event: Event, exclude: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Offer the event to every live run about its subject that waits for it or may exit on it."""
    keys = subject_keys(event.contact_id, event.deal_id)
    if not keys:
        return
    waiting = set(
        host.session.execute(
            select(Wait.run_id).where(Wait.event_type == event.type, Wait.subject_key.in_(keys))
        ).scalars()
    )
    candidates = set(waiting)
    listening = _exiting_flows(host, event.type)
    statuses = [str(s) for s in LIVE]
    # Two selects, each on its own index: with an OR, SQLite reads every live run of the installation
    # (ix_run_status_wake), which made each event cost O(waiting runs).
    query = select(Run.id, Run.flow_key, Run.version).where(
        Run.subject_key.in_(keys), Run.status.in_(statuses), Run.flow_key.in_(listening)
    )
    if event.contact_id is not None:
        query = union(
            query,
            select(Run.id, Run.flow_key, Run.version).where(
                Run.contact_id == event.contact_id, Run.status.in_(statuses), Run.flow_key.in_(listening)
            ),
        )
    live = host.session.execute(query).all() if listening else []
    for run_id, flow_key, version in live:
        flow = host.services.flow(host.session, flow_key, version)
        if flow.exit_when or any(e.get("event") == event.type for e in flow.exit_on):
            candidates.add(run_id)
    candidates -= set(exclude)
    if not candidates:
        return
    owned = set(host.claim(sorted(candidates)))
    for run_id in sorted(candidates):
        if run_id not in owned:
            host.later.append(f"d:{event.id}:{run_id}")
            continue
        deliver_to(host, event, run_id)


def _exiting_flows(host: DbHost, event_type: str) -> list[str]:
    """Keys of the flows with a published version that a live run may leave on this event (`exit_when`,
    checked on every event about the subject, or an `exit_on` of this type), read once per batch. Most
    events (contact.created, email.opened) concern no such flow and then cost no query of live runs."""
    key = f"exits:{event_type}"
    cached = host.cache.get(key)
    if cached is None:
        found = set()
        for flow_key, version in host.session.execute(select(FlowVersion.flow_key, FlowVersion.version)):
            try:
                flow = host.services.flow(host.session, flow_key, version)
            except Exception:  # a version that no longer loads: look at its runs, as before
                log.exception("flow %s v%s cannot be loaded", flow_key, version)
                found.add(flow_key)
                continue
            if flow.exit_when or any(e.get("event") == event_type for e in flow.exit_on):
                found.add(flow_key)
        cached = host.cache[key] = sorted(found)
    return list(cached)


def deliver_to(host: DbHost, event: Event, run_id: str) -> None:
    run = host.load(run_id)
    if run is None or run.status not in LIVE:
        return
    flow = host.services.flow(host.session, run.flow, run.version)
    interpreter.on_event(flow, run, host, {"id": event.id, "type": event.type, "data": event.data})


def check_segments(host: DbHost, contact_id: int | None, deal_id: int | None) -> int:
    """Start the segment flows the subject has just come to match; forget those it left. Returns starts."""
    triggers = _triggers(host, "segment")
    return sum(check_segment(host, t, contact_id, deal_id) for t in triggers)


def check_segment(
    host: DbHost, trigger: Trigger | TriggerIndex, contact_id: int | None, deal_id: int | None
) -> int:
    flow = host.services.flow(host.session, trigger.flow_key, trigger.version)
    subject = subject_for(flow, contact_id, deal_id)
    if not subject:
        return 0
    key = primary_key(subject)
    scope = _scope(host, subject, None)
    matches = _holds(
        flow, trigger.spec.get("where"), scope, host.now(), f"/triggers/{trigger.position}/where"
    )
    mark = (
        host.session.execute(
            select(TriggerMark).where(
                TriggerMark.flow_key == flow.key,
                TriggerMark.position == trigger.position,
                TriggerMark.subject_key == key,
                TriggerMark.value == "in",
            )
        )
        .scalars()
        .first()
    )
    if matches and mark is None:
        host.session.add(
            TriggerMark(
                flow_key=flow.key, position=trigger.position, subject_key=key, value="in", at=host.now()
            )
        )
        run = host.new_run(flow, subject, {"segment": trigger.position})
        if run is not None:
            interpreter.advance(flow, run, host)
            return 1
    elif not matches and mark is not None:
        host.session.delete(mark)
    return 0
