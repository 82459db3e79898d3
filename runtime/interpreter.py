"""The interpreter: decides what happens to a run, node by node, over any storage (a `Host`).

Node handlers live in one dispatch table keyed by node type; each returns a transition (`Next`,
`Sleep`, `Wait`, `Exit`, `Fail`) that `_apply` turns into state. The simulator (in memory, virtual
clock) and the durable runtime (database, RQ workers) drive the same functions through their hosts.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

from connectors.errors import ConnectorError, Deferred, PermanentError
from connectors.registry import ConnectorRegistry
from runtime.conditions import Clock, evaluate
from runtime.durations import get_zone, iso, parse_duration, to_datetime
from runtime.errors import ConditionError, DurationError, FlowrightError, TemplateError
from runtime.flow import Flow
from runtime.params import check_params, fit_templated, jsonable
from runtime.run import LIVE, RunState, RunStatus, StepRecord, StepStatus, transition
from runtime.templates import render, render_value
from runtime.windows import next_opening

DEFAULT_RETRY = {"max_attempts": 3, "backoff": "PT30S"}
MAX_BACKOFF = timedelta(hours=6)
GOAL = "goal"


class Host(Protocol):
    """What the interpreter needs from its environment."""

    registry: ConnectorRegistry

    def now(self) -> datetime: ...

    def load_records(self, run: RunState) -> dict[str, dict[str, Any] | None]: ...

    def execute(
        self, run: RunState, node: Mapping[str, Any], action: str, params: dict[str, Any], key: str
    ) -> dict[str, Any]: ...

    def save(self, run: RunState, step: StepRecord | None) -> None: ...


# ---------------------------------------------------------------- transitions


@dataclass(frozen=True)
class Next:
    port: str | None
    target: str | None
    output: Any = None


@dataclass(frozen=True)
class Sleep:
    until: datetime
    output: Any = None


@dataclass(frozen=True)
class Wait:
    event: str
    where: Mapping[str, Any] | None
    timeout_at: datetime | None


@dataclass(frozen=True)
class Exit:
    reason: str


@dataclass(frozen=True)
class Fail:
    error: str
    retryable: bool = False
    retry_after: float | None = None
    throttled: bool = False  # the action was deferred (rate budget, quiet hours): not a failed attempt
    spread: bool = True  # scatter the wake-ups of throttled runs (a rate budget; not quiet hours)


Transition = Next | Sleep | Wait | Exit | Fail


@dataclass
class Step:
    """What a handler may look at: the flow, the run, the scope of templates and conditions, the clock."""

    flow: Flow
    run: RunState
    host: Host
    node: Mapping[str, Any]
    scope: dict[str, Any]
    now: datetime
    tz: tzinfo
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def clock(self) -> Clock:
        return Clock(self.now, self.tz)

    def pointer(self, *parts: Any) -> str:
        index = self.flow.positions[self.node["id"]]
        return "/nodes/" + "/".join(str(p) for p in (index, *parts))


# ---------------------------------------------------------------- node handlers


def run_action(step: Step) -> Transition:
    node = step.node
    registry = step.host.registry
    action = registry.action(node["action"])
    try:
        params = jsonable(render_value(node.get("params") or {}, step.scope, step.pointer("params")))
    except TemplateError as exc:
        return Fail(exc.message)
    params = fit_templated(action.params_schema, node.get("params") or {}, params)
    problem = check_params(action, params)
    if problem:
        return Fail(f"params for {action.key} are invalid: {problem}")
    try:
        output = step.host.execute(step.run, node, action.key, params, step.run.idempotency_key(node["id"]))
    except Deferred as exc:  # not called now (our rate budget, quiet hours): not a failed attempt
        return Fail(exc.message, True, exc.retry_after, throttled=True, spread=exc.spread)
    except ConnectorError as exc:
        return Fail(exc.message, exc.retryable, getattr(exc, "retry_after", None))
    return Next("next", node.get("next"), output)


def run_branch(step: Step) -> Transition:
    for index, rule in enumerate(step.node.get("rules") or []):
        if evaluate(rule["when"], step.scope, step.clock, step.pointer("rules", index, "when")):
            return Next(f"rules/{index}", rule.get("next"), {"rule": index})
    return Next("else", step.node.get("else"), {"rule": None})


def run_split(step: Step) -> Transition:
    paths = step.node.get("paths") or []
    digest = hashlib.sha256(f"{step.run.id}:{step.node['id']}".encode()).digest()
    total = sum(float(p.get("weight", 1)) for p in paths)
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    for index, path in enumerate(paths):
        point -= float(path.get("weight", 1))
        if point < 0 or index == len(paths) - 1:
            return Next(f"paths/{index}", path.get("next"), {"path": index})
    return Fail("split has no paths")


def run_delay(step: Step) -> Transition:
    node = step.node
    if "duration" in node:
        target = parse_duration(node["duration"]).add_to(step.now, step.tz)
    else:
        target = _until(step)
    if node.get("window"):
        target = next_opening(max(target, step.now), node["window"], step.tz)
    if target <= step.now:
        return Next("next", node.get("next"), {"until": iso(step.now)})
    return Sleep(target, {"until": iso(target)})


def _until(step: Step) -> datetime:
    raw = step.node["until"]
    value = render(raw, step.scope, pointer=step.pointer("until")) if isinstance(raw, str) else raw
    moment = to_datetime(value, step.tz)
    if moment is None:
        raise TemplateError(
            f"delay 'until' gave {value!r}, which is not a date or datetime",
            template=str(raw),
            pointer=step.pointer("until"),
        )
    if step.node.get("offset"):
        moment = parse_duration(step.node["offset"]).add_to(moment, step.tz)
    return moment


def run_wait_for(step: Step) -> Transition:
    timeout = step.node.get("timeout")
    timeout_at = parse_duration(timeout).add_to(step.now, step.tz) if timeout else None
    return Wait(step.node["event"], step.node.get("where"), timeout_at)


def run_set(step: Step) -> Transition:
    values = {}
    for name, template in (step.node.get("values") or {}).items():
        values[name] = jsonable(render_value(template, step.scope, step.pointer("values", name)))
        step.run.vars[name] = values[name]
        step.scope["vars"] = step.run.vars
    return Next("next", step.node.get("next"), values)


def run_exit(step: Step) -> Transition:
    return Exit(str(step.node.get("reason") or "exit"))


NODE_HANDLERS: dict[str, Callable[[Step], Transition]] = {
    "action": run_action,
    "branch": run_branch,
    "split": run_split,
    "delay": run_delay,
    "wait_for": run_wait_for,
    "set": run_set,
    "exit": run_exit,
}


# ---------------------------------------------------------------- scope


def subject_timezone(flow: Flow, records: Mapping[str, Any]) -> tzinfo:
    """The contact's timezone when it has a valid one, else the flow's."""
    contact = records.get("contact") or {}
    name = contact.get("timezone") if isinstance(contact, Mapping) else None
    if isinstance(name, str) and name:
        try:
            return get_zone(name)
        except ValueError:
            pass
    return flow.timezone


def build_scope(flow: Flow, run: RunState, records: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The names templates and conditions see (DESIGN §3); absent records are absent, not empty."""
    scope: dict[str, Any] = {
        "trigger": run.trigger,
        "steps": run.steps,
        "vars": run.vars,
        "run": {"id": run.id, "flow": run.flow, "version": run.version, "started_at": run.started_at},
        "now": now,
    }
    for kind in ("contact", "deal"):
        if records.get(kind) is not None:
            scope[kind] = records[kind]
    return scope


# ---------------------------------------------------------------- driving a run


def start(
    flow: Flow,
    host: Host,
    *,
    run_id: str,
    subject: Mapping[str, Any],
    trigger: Mapping[str, Any] | None = None,
) -> RunState:
    """A new run at the flow's start node, advanced as far as it can go."""
    run = RunState(
        id=run_id,
        flow=flow.key,
        version=flow.version,
        subject=dict(subject),
        trigger=dict(trigger or {}),
        started_at=host.now(),
        cursor=flow.start,
    )
    host.save(run, None)
    return advance(flow, run, host)


def advance(flow: Flow, run: RunState, host: Host) -> RunState:
    """Run from the cursor until a delay, a wait, a failure or the end; save after each step."""
    while run.status == RunStatus.RUNNING:
        now = host.now()
        records = host.load_records(run)
        scope = build_scope(flow, run, records, now)
        tz = subject_timezone(flow, records)
        if _goal_reached(flow, scope, Clock(now, tz)):
            _end(run, host, RunStatus.EXITED, GOAL)
            break
        if run.cursor is None:
            _end(run, host, RunStatus.COMPLETED, None)
            break
        if run.seq >= flow.max_steps:
            run.error = f"the run visited more than max_steps ({flow.max_steps}) nodes; is there a loop?"
            _end(run, host, RunStatus.FAILED, None)
            break
        node = flow.node(run.cursor)
        step = Step(flow, run, host, node, scope, now, tz)
        try:
            outcome = NODE_HANDLERS[node["type"]](step)
        except (TemplateError, ConditionError, DurationError) as exc:
            outcome = Fail(getattr(exc, "message", str(exc)))
        except FlowrightError as exc:
            outcome = Fail(str(exc))
        _apply(step, outcome)
    return run


def on_timer(flow: Flow, run: RunState, host: Host) -> RunState:
    """The run's wake_at has come: a delay is over, a wait timed out, or a retry is due."""
    if run.status != RunStatus.WAITING or not run.wait:
        return run
    wait = run.wait
    node = flow.node(wait["node"])
    kind = wait.get("kind")
    run.wait, run.wake_at = None, None
    transition(run, RunStatus.RUNNING)
    if kind == "retry":
        return advance(flow, run, host)  # same visit, same idempotency key
    port, target = ("next", node.get("next")) if kind == "delay" else ("on_timeout", node.get("on_timeout"))
    output = wait.get("output") if kind == "delay" else None
    _finish(run, host, node, to_datetime(wait["since"]), Next(port, target, output))
    return advance(flow, run, host)


def on_event(flow: Flow, run: RunState, host: Host, event: Mapping[str, Any]) -> bool:
    """A live run considers an event about its subject; True when the run moved or ended."""
    if run.status not in LIVE:
        return False
    now = host.now()
    records = host.load_records(run)
    scope = build_scope(flow, run, records, now)
    clock = Clock(now, subject_timezone(flow, records))
    event_scope = {**scope, "event": event.get("data") or {}}
    for entry in flow.exit_on:
        if entry.get("event") == event.get("type") and (
            not entry.get("where") or evaluate(entry["where"], event_scope, clock)
        ):
            _end(run, host, RunStatus.EXITED, GOAL)
            return True
    if _goal_reached(flow, scope, clock):
        _end(run, host, RunStatus.EXITED, GOAL)
        return True
    wait = run.wait or {}
    if (
        run.status != RunStatus.WAITING
        or wait.get("kind") != "wait_for"
        or wait.get("event") != event.get("type")
    ):
        return False
    if wait.get("where") and not evaluate(wait["where"], event_scope, clock):
        return False
    node = flow.node(wait["node"])
    run.wait, run.wake_at = None, None
    transition(run, RunStatus.RUNNING)
    data = dict(event.get("data") or {})
    _finish(run, host, node, to_datetime(wait["since"]), Next("next", node.get("next"), data))
    advance(flow, run, host)
    return True


def reenter(flow: Flow, run: RunState, host: Host) -> RunState:
    """A waiting run enters its node again as `flow` (a newer version) defines it, keeping the moment it
    first entered: a delay counts its new duration from then, a wait_for waits for the new event with its
    new timeout from then. A moment already past wakes the run on the next scheduler pass (a delay's
    window still applies from now). Used by `publish --policy migrate`; see docs/decisions.md."""
    wait = dict(run.wait or {})
    node = flow.node(wait["node"])
    since = to_datetime(wait["since"]) or host.now()
    now = host.now()
    records = host.load_records(run)
    tz = subject_timezone(flow, records)
    step = Step(flow, run, host, node, build_scope(flow, run, records, since), since, tz)
    if node["type"] == "delay":
        target = parse_duration(node["duration"]).add_to(since, tz) if "duration" in node else _until(step)
        if node.get("window"):
            target = next_opening(max(target, now), node["window"], tz)
        output = {"until": iso(target)}
        run.wait = {"node": node["id"], "since": iso(since), "kind": "delay", "output": output}
        run.wake_at = max(target, now)
    elif node["type"] == "wait_for":
        timeout = node.get("timeout")
        timeout_at = parse_duration(timeout).add_to(since, tz) if timeout else None
        run.wait = {
            "node": node["id"],
            "since": iso(since),
            "kind": "wait_for",
            "event": node["event"],
            "where": node.get("where"),
        }
        run.wake_at = max(timeout_at, now) if timeout_at else None
    else:
        raise ValueError(f"node {node['id']!r} is a {node['type']}, not a delay or wait_for")
    host.save(run, None)
    return run


def cancel(run: RunState, host: Host, reason: str = "cancelled") -> RunState:
    _end(run, host, RunStatus.CANCELLED, reason)
    return run


def _goal_reached(flow: Flow, scope: Mapping[str, Any], clock: Clock) -> bool:
    return bool(flow.exit_when) and evaluate(flow.exit_when, scope, clock, "/settings/exit_when")  # type: ignore[arg-type]


# ---------------------------------------------------------------- applying transitions


def _apply(step: Step, outcome: Transition) -> None:
    APPLY[type(outcome)](step, outcome)


def _apply_next(step: Step, outcome: Next) -> None:  # type: ignore[misc]
    _finish(step.run, step.host, step.node, step.now, outcome)


def _apply_sleep(step: Step, outcome: Sleep) -> None:
    _suspend(step, {"kind": "delay", "output": outcome.output}, outcome.until)


def _apply_wait(step: Step, outcome: Wait) -> None:
    _suspend(step, {"kind": "wait_for", "event": outcome.event, "where": outcome.where}, outcome.timeout_at)


def _suspend(step: Step, wait: dict[str, Any], wake_at: datetime | None) -> None:
    run = step.run
    run.wait = {"node": step.node["id"], "since": iso(step.now), **wait}
    run.wake_at = wake_at
    transition(run, RunStatus.WAITING)
    record = _record(step, StepStatus.WAITING)
    record.output = wait.get("output")
    step.host.save(run, record)


def _apply_exit(step: Step, outcome: Exit) -> None:
    run = step.run
    record = _record(step, StepStatus.DONE, finished=True)
    record.output = {"reason": outcome.reason}
    run.seq += 1
    run.exit_reason = outcome.reason
    transition(run, RunStatus.EXITED)
    step.host.save(run, record)


def _apply_fail(step: Step, outcome: Fail) -> None:
    run, node = step.run, step.node
    retry = {**DEFAULT_RETRY, **(node.get("retry") or {})}
    key = run.idempotency_key(node["id"])
    if outcome.throttled:  # spread the waiting runs over half the wait again, so they do not all wake at once
        wait = outcome.retry_after or 1.0
        if outcome.spread:
            wait *= 1 + random.Random(f"{key}:{iso(step.now)}").random() / 2
        _retry_later(step, outcome, step.now + timedelta(seconds=wait))
        return
    if outcome.retryable and node["type"] == "action" and run.attempt + 1 < int(retry["max_attempts"]):
        run.attempt += 1
        backoff = _backoff(retry["backoff"], run.attempt, outcome.retry_after, key)
        _retry_later(step, outcome, step.now + backoff)
        return
    if node["type"] == "action" and node.get("on_error"):
        run.steps[node["id"]] = {"error": outcome.error}
        _finish(
            run,
            step.host,
            node,
            step.now,
            Next("on_error", node["on_error"], {"error": outcome.error}),
            error=outcome.error,
        )
        return
    record = _record(step, StepStatus.FAILED, finished=True)
    record.error = outcome.error
    run.error = f"{node['id']}: {outcome.error}"
    transition(run, RunStatus.FAILED)
    step.host.save(run, record)


def _retry_later(step: Step, outcome: Fail, wake: datetime) -> None:
    """The run waits on the same node, same visit and idempotency key, and tries the action again."""
    run = step.run
    run.wait = {"node": step.node["id"], "since": iso(step.now), "kind": "retry"}
    run.wake_at = wake
    transition(run, RunStatus.WAITING)
    record = _record(step, StepStatus.RETRYING)
    record.error, record.attempt = outcome.error, run.attempt
    step.host.save(run, record)


def _backoff(spec: str, attempt: int, retry_after: float | None, key: str) -> timedelta:
    """Exponential backoff with jitter on its upper half; the provider's Retry-After wins if longer.

    The jitter is seeded by the idempotency key and attempt: runs spread out, yet a simulation is
    repeatable.
    """
    base = parse_duration(spec).approx()
    delay = min(base * (2 ** (attempt - 1)), MAX_BACKOFF)
    delay = delay / 2 + delay / 2 * random.Random(f"{key}:{attempt}").random()
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


APPLY: dict[type, Callable[[Step, Any], None]] = {
    Next: _apply_next,
    Sleep: _apply_sleep,
    Wait: _apply_wait,
    Exit: _apply_exit,
    Fail: _apply_fail,
}


def _record(step: Step, status: StepStatus, *, finished: bool = False) -> StepRecord:
    return StepRecord(
        run_id=step.run.id,
        seq=step.run.visit,
        node=step.node["id"],
        type=step.node["type"],
        at=step.now,
        status=status,
        finished_at=step.now if finished else None,
        idempotency_key=step.run.idempotency_key(step.node["id"]) if step.node["type"] == "action" else None,
        attempt=step.run.attempt,
    )


def _finish(
    run: RunState,
    host: Host,
    node: Mapping[str, Any],
    since: datetime | None,
    outcome: Next,
    error: str | None = None,
) -> None:
    """Close the current visit through `outcome.port` and move the cursor (None ends the run)."""
    now = host.now()
    record = StepRecord(
        run_id=run.id,
        seq=run.visit,
        node=node["id"],
        type=node["type"],
        at=since or now,
        status=StepStatus.DONE,
        finished_at=now,
        port=outcome.port,
        target=outcome.target,
        output=outcome.output,
        error=error,
        attempt=run.attempt,
        idempotency_key=run.idempotency_key(node["id"]) if node["type"] == "action" else None,
    )
    if node["type"] in ("action", "wait_for") and outcome.port != "on_error":
        run.steps[node["id"]] = outcome.output
    run.seq += 1
    run.attempt = 0
    run.cursor = outcome.target
    if outcome.target is None:
        transition(run, RunStatus.COMPLETED)
    host.save(run, record)


def _end(run: RunState, host: Host, status: RunStatus, reason: str | None) -> None:
    """End a live run (goal, cancel, failure): a pending wait is dropped, its step marked skipped."""
    pending = run.wait
    run.wait, run.wake_at = None, None
    if status == RunStatus.EXITED or status == RunStatus.CANCELLED:
        run.exit_reason = reason
    transition(run, status)
    step = None
    if pending:
        step = StepRecord(
            run_id=run.id,
            seq=run.visit,
            node=pending["node"],
            type="",
            at=to_datetime(pending["since"]) or host.now(),
            status=StepStatus.SKIPPED,
            finished_at=host.now(),
        )
    host.save(run, step)


__all__ = ["NODE_HANDLERS", "Host", "PermanentError", "advance", "cancel", "on_event", "on_timer", "start"]
