"""The simulator: the real interpreter over an in-memory store and a virtual clock.

Connectors run dry: each action returns its declared example output and records its rendered params
as an effect; `local` actions (crm.*, flow.enroll) run for real against the in-memory records so later
conditions see their changes. Events are delivered on the virtual clock. It is what the editor's test
panel, `flowright simulate` and the example tests use.
"""

from __future__ import annotations

import copy
import heapq
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import requests

from connectors.base import ActionContext, RunInfo
from connectors.errors import ConnectorError, PermanentError, RetryableError
from connectors.registry import ConnectorRegistry, default_registry
from connectors.session import TimeoutSession
from runtime import interpreter
from runtime.durations import is_zone, iso, parse_duration, to_datetime
from runtime.errors import DurationError
from runtime.flow import Flow
from runtime.ingest import is_hard_bounce
from runtime.memory import MemoryRecords
from runtime.params import plain_output
from runtime.run import LIVE, RunState, RunStatus, StepRecord
from runtime.validation import load_flow

log = logging.getLogger("flowright.simulator")


@dataclass
class Failure:
    """An injected failure for one action node: permanent, or retryable for the first `times` attempts."""

    error: str
    retryable: bool = False
    times: int = 1_000_000
    retry_after: float | None = None

    @classmethod
    def parse(cls, spec: str | Mapping[str, Any]) -> Failure:
        if isinstance(spec, str):
            return cls(spec)
        return cls(
            str(spec.get("error", "simulated failure")),
            bool(spec.get("retryable", False)),
            int(spec.get("times", 1_000_000)),
            spec.get("retry_after"),
        )


class SimHost:
    """The interpreter's host for a simulation: virtual clock, in-memory records, recorded effects."""

    def __init__(
        self,
        registry: ConnectorRegistry,
        start: datetime,
        fail: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.registry = registry
        self.clock = start
        self.records = MemoryRecords(self.now)
        self.effects: list[dict[str, Any]] = []
        self.steps: dict[int, StepRecord] = {}
        self.failures = {node: Failure.parse(spec) for node, spec in (fail or {}).items()}
        self.settings = dict(settings or {"public_url": "http://localhost:5000", "secret_key": "simulation"})
        self._http: requests.Session | None = None

    def now(self) -> datetime:
        return self.clock

    def load_records(self, run: RunState) -> dict[str, dict[str, Any] | None]:
        return dict(self.records.snapshot(run.subject))

    def save(self, run: RunState, step: StepRecord | None) -> None:
        if step is not None:
            self.steps[step.seq] = copy.copy(step)  # records are fresh per save; outputs never mutated

    def execute(
        self, run: RunState, node: Mapping[str, Any], action: str, params: dict[str, Any], key: str
    ) -> dict[str, Any]:
        failure = self.failures.get(node["id"])
        if failure and failure.times > 0:
            failure.times -= 1
            if failure.retryable:
                raise RetryableError(failure.error, retry_after=failure.retry_after)
            raise PermanentError(failure.error)
        spec = self.registry.action(action)
        if spec.local:
            output = plain_output(spec, self._run_local(run, node, spec, params, key))
        else:
            output = plain_output(spec, copy.deepcopy(spec.example_output))
        self.effects.append(
            {"node": node["id"], "action": action, "at": iso(self.clock), "params": copy.deepcopy(params)}
        )
        return output

    def _run_local(
        self, run: RunState, node: Mapping[str, Any], spec: Any, params: dict[str, Any], key: str
    ) -> dict[str, Any]:
        if self._http is None:
            self._http = TimeoutSession()
        ctx = ActionContext(
            run=RunInfo(run.id, run.flow, run.version, node["id"], dict(run.subject)),
            idempotency_key=key,
            credentials={},
            records=self.records,
            http=self._http,
            clock=self.now,
            logger=log,
            dry_run=True,
            settings=self.settings,
        )
        try:
            return dict(spec.run(ctx, dict(params)))
        except ConnectorError:
            raise
        except LookupError as exc:
            raise PermanentError(str(exc).strip("'\"")) from None

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


# ------------------------------------------------------------------ events on the virtual clock


def _patch_stage(records: MemoryRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    if subject.get("deal_id") and data.get("to") is not None:
        deal = records.data["deal"][subject["deal_id"]]
        deal["stage"] = data["to"]
        deal["stage_entered_at"] = iso(records.clock())


def _patch_fields(kind: str) -> Callable[[MemoryRecords, Mapping[str, Any], Mapping[str, Any]], None]:
    def patch(records: MemoryRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        record_id = subject.get(f"{kind}_id")
        if record_id is not None:
            changes = data.get("changes")
            records.data[kind][record_id].update(changes if isinstance(changes, Mapping) else data)

    return patch


def _patch_unsubscribed(records: MemoryRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    if subject.get("contact_id") is not None:
        records.data["contact"][subject["contact_id"]]["subscribed"] = False


def _patch_bounced(records: MemoryRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    if subject.get("contact_id") is not None and is_hard_bounce(data):
        records.data["contact"][subject["contact_id"]]["bounced"] = True


def _patch_opened(records: MemoryRecords, subject: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    if subject.get("contact_id") is not None:
        records.data["contact"][subject["contact_id"]]["last_opened_at"] = iso(records.clock())


# Events that change the records they are about, as the record store would have (before matching).
EVENT_PATCHES: dict[str, Callable[[MemoryRecords, Mapping[str, Any], Mapping[str, Any]], None]] = {
    "deal.stage_changed": _patch_stage,
    "deal.updated": _patch_fields("deal"),
    "contact.updated": _patch_fields("contact"),
    "contact.unsubscribed": _patch_unsubscribed,
    "email.bounced": _patch_bounced,
    "email.opened": _patch_opened,
}


@dataclass(order=True)
class _Pending:
    at: datetime
    order: int
    event: dict[str, Any] = field(compare=False)


def _schedule(events: Iterable[Mapping[str, Any]], start: datetime, tz: tzinfo) -> list[_Pending]:
    """The events in delivery order; a naive `at` is read in the subject's timezone, like `--start`."""
    queue: list[_Pending] = []
    for index, raw in enumerate(events):
        if not isinstance(raw, Mapping):
            raise ValueError(f'events/{index}: an event is an object such as {{"after": "P1D", "type": ...}}')
        event = dict(raw)
        if "at" in event and event["at"] is not None:
            at = to_datetime(event["at"], tz)
            if at is None:
                raise ValueError(f"events/{index}/at: {event['at']!r} is not an ISO datetime")
        else:
            try:
                at = parse_duration(str(event.get("after", "PT0S"))).add_to(start, tz)
            except DurationError as exc:
                raise ValueError(f"events/{index}/after: {exc}") from None
        if "type" not in event:
            raise ValueError(f"events/{index}: an event needs a 'type'")
        if at < start:  # the run did not exist yet: delivering it at the start would be a guess
            raise ValueError(
                f"events/{index}: {iso(at)} is before the run starts ({iso(start)}); "
                "give a later 'at', a positive 'after' or an earlier --start"
            )
        queue.append(_Pending(at, index, event))
    heapq.heapify(queue)
    return queue


# ------------------------------------------------------------------ the result


@dataclass
class SimResult:
    run: RunState
    steps: list[StepRecord]
    effects: list[dict[str, Any]]
    records: dict[str, Any]
    tasks: list[dict[str, Any]]
    enrolments: list[dict[str, Any]]
    # The zone the run's schedule followed: the contact's when it names a valid one, else the flow's.
    timezone: tzinfo = UTC
    timezone_source: str = "flow"  # "contact" | "flow"
    warnings: list[str] = field(default_factory=list)  # what the user should hear about (stderr)

    @property
    def status(self) -> str:
        return str(self.run.status)

    @property
    def path(self) -> list[str]:
        return [s.node for s in self.steps]

    @property
    def vars(self) -> dict[str, Any]:
        return self.run.vars

    @property
    def exit_reason(self) -> str | None:
        return self.run.exit_reason

    @property
    def error(self) -> str | None:
        return self.run.error

    def to_json(self) -> dict[str, Any]:
        """Exactly the DESIGN §10 shape: status, path, steps, effects."""
        return {
            "status": self.status,
            "path": self.path,
            "steps": [
                {
                    "node": s.node,
                    "at": iso(s.at),
                    "port": s.port,
                    "output": s.output if s.error is None or s.port else {"error": s.error},
                }
                for s in self.steps
            ],
            "effects": self.effects,
        }


# ------------------------------------------------------------------ driving


def simulate(
    flow_doc: Mapping[str, Any] | Flow,
    subject: Mapping[str, Any],
    *,
    trigger: Mapping[str, Any] | None = None,
    events: Iterable[Mapping[str, Any]] = (),
    start: datetime | str | None = None,
    run_id: str = "sim",
    fail: Mapping[str, Any] | None = None,
    registry: ConnectorRegistry | None = None,
    max_events: int = 10_000,
) -> SimResult:
    """Run a flow for one subject on a virtual clock. Raises FlowInvalid for an invalid flow."""
    registry = registry or default_registry()
    flow = flow_doc if isinstance(flow_doc, Flow) else load_flow(flow_doc, registry)
    host = SimHost(registry, datetime.now(UTC).replace(microsecond=0), fail)
    run_subject = _load_subject(host.records, flow, subject)
    tz, tz_source, warnings = _subject_zone(flow, host.records.snapshot(run_subject))
    begin = host.clock = _start_time(start, tz)
    queue = _schedule(events, begin, tz)
    try:
        run = interpreter.start(flow, host, run_id=run_id, subject=run_subject, trigger=trigger)
        delivered = 0
        seen: set[Any] = set()
        while run.status in LIVE and delivered < max_events:
            delivered += _deliver_outbox(flow, run, host)
            if run.status not in LIVE:
                break
            due = run.wake_at if run.status == RunStatus.WAITING else None
            if queue and (due is None or queue[0].at <= due):
                item = heapq.heappop(queue)
                event_id = item.event.get("id")
                if event_id is not None and event_id in seen:
                    continue  # ingestion is idempotent by id (DESIGN §4): a repeat moves nothing
                if event_id is not None:
                    seen.add(event_id)
                host.clock = max(host.clock, item.at).astimezone(UTC)
                _deliver(flow, run, host, item.event)
                delivered += 1
            elif due is not None:
                host.clock = max(host.clock, due).astimezone(UTC)  # `now` is UTC, as in production
                interpreter.on_timer(flow, run, host)
            elif run.status == RunStatus.RUNNING:
                interpreter.advance(flow, run, host)
            else:
                break  # waiting for an event that never comes
    finally:
        host.close()
    steps = [host.steps[k] for k in sorted(host.steps)]
    return SimResult(
        run,
        steps,
        host.effects,
        host.records.snapshot(run.subject),
        host.records.tasks,
        host.records.enrolments,
        tz,
        tz_source,
        warnings,
    )


def _deliver(flow: Flow, run: RunState, host: SimHost, event: Mapping[str, Any]) -> None:
    patch = EVENT_PATCHES.get(str(event.get("type")))
    if patch:
        patch(host.records, run.subject, event.get("data") or {})
    for kind, fields in (event.get("records") or {}).items():  # explicit record changes
        record_id = run.subject.get(f"{kind}_id")
        if record_id is not None:
            host.records.data[kind][record_id].update(fields)
    interpreter.on_event(flow, run, host, event)


def _deliver_outbox(flow: Flow, run: RunState, host: SimHost) -> int:
    count = 0
    while host.records.outbox and run.status in LIVE:
        event = host.records.outbox.pop(0)
        interpreter.on_event(flow, run, host, event)
        count += 1
    host.records.outbox.clear()
    return count


def _start_time(start: datetime | str | None, tz: tzinfo) -> datetime:
    """`--start` in UTC; a naive one is read in the subject's timezone (the contact's, else the flow's),
    as naive datetimes in conditions are."""
    if start is None:
        return datetime.now(UTC).replace(microsecond=0)
    moment = to_datetime(start, tz)
    if moment is None:
        raise ValueError(f"start: {start!r} is not an ISO datetime")
    return moment.astimezone(UTC)


def _subject_zone(flow: Flow, records: Mapping[str, Any]) -> tuple[tzinfo, str, list[str]]:
    """The subject's timezone, whose it is, and a warning for a contact.timezone that is no IANA zone:
    the run falls back to the flow's then (at run time too), which validation cannot know about."""
    tz = interpreter.subject_timezone(flow, records)
    contact = records.get("contact")
    name = contact.get("timezone") if isinstance(contact, Mapping) else None
    if name is None or name == "":
        return tz, "flow", []
    if is_zone(name):
        return tz, "contact", []
    return tz, "flow", [
        f"contact.timezone {name!r} is not a known IANA timezone such as Europe/Vilnius; "
        f"the run follows the flow's timezone ({flow.timezone})"
    ]


def _load_subject(records: MemoryRecords, flow: Flow, subject: Mapping[str, Any]) -> dict[str, Any]:
    """Put the subject's records into the store; returns the run's subject ({"contact_id", "deal_id"})."""
    if not isinstance(subject, Mapping):
        raise ValueError('subject must be an object such as {"contact": {...}, "deal": {...}}')
    unknown = set(subject) - {"contact", "deal", "contact_id", "deal_id"}
    if unknown:
        raise ValueError(f"subject: unknown key(s) {', '.join(sorted(unknown))}; use 'contact' and 'deal'")
    run_subject: dict[str, Any] = {}
    for kind in ("contact", "deal"):
        record = subject.get(kind)
        if record is not None and not isinstance(record, Mapping):
            raise ValueError(f"subject/{kind} must be an object")
        record_id = subject.get(f"{kind}_id")  # an event's subject ({"contact_id": 7}): a record with that id
        if record_id is not None:
            if not isinstance(record_id, str | int) or isinstance(record_id, bool):
                raise ValueError(f"subject/{kind}_id must be a number or a string")
            record = {**(record or {}), "id": record_id}
        if record is not None:
            run_subject[f"{kind}_id"] = records.put(kind, record)
    deal_id = run_subject.get("deal_id")
    if deal_id is not None and "contact_id" in run_subject:
        records.data["deal"][deal_id].setdefault("contact_id", run_subject["contact_id"])
    return run_subject
