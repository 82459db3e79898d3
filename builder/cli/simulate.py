"""`flowright simulate`: run a flow on a virtual clock and print the timeline or the JSON result."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

import click

from builder.cli.common import json_argument, read_json_file
from runtime.durations import iso, to_datetime
from runtime.errors import FlowInvalid
from runtime.simulator import SimResult, simulate


def register(group: click.Group) -> None:
    group.add_command(simulate_command)


@click.command("simulate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--subject",
    help='The records the run sees: {"contact": {...}, "deal": {...}} or @file (optional for subject none).',
)
@click.option("--trigger", help="The data of the event that started the run (JSON or @file).")
@click.option(
    "--events", help='Events on the virtual clock: [{"after": "P3D", "type": "...", "data": {...}}] or @file.'
)
@click.option("--start", help="When the run starts (ISO datetime; default: now).")
@click.option("--run-id", default="sim", show_default=True, help="The run id (split nodes hash it).")
@click.option(
    "--fail",
    "failures",
    multiple=True,
    metavar="NODE[=MESSAGE]",
    help="Make this action node fail permanently (tests on_error paths). Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: status, path, steps, effects.")
def simulate_command(
    file: str,
    subject: str | None,
    trigger: str | None,
    events: str | None,
    start: str | None,
    run_id: str,
    failures: tuple[str, ...],
    as_json: bool,
) -> None:
    """Simulate FILE for one subject and print what would happen, when."""
    document = read_json_file(file)
    subject_doc = json_argument(subject, "--subject")
    if subject_doc is None:
        kind = document.get("subject", "contact") if isinstance(document, Mapping) else "contact"
        if kind != "none":
            raise click.UsageError(f"--subject is required: the flow's runs are about a {kind}")
        subject_doc = {}
    trigger_doc = json_argument(trigger, "--trigger")
    events_doc = json_argument(events, "--events") or []
    if isinstance(events_doc, Mapping):
        events_doc = [events_doc]  # one event, as `flowright events post` takes one or a list
    if not isinstance(events_doc, list):
        raise click.BadParameter("must be a JSON list of events", param_hint="--events")
    if trigger_doc is not None and not isinstance(trigger_doc, Mapping):
        raise click.BadParameter("must be a JSON object", param_hint="--trigger")
    if start is not None and to_datetime(start) is None:
        raise click.BadParameter(
            f"{start!r} is not an ISO datetime such as 2026-03-02T09:00:00Z", param_hint="--start"
        )
    trigger_doc, unwrapped = _event_data(document, trigger_doc)
    if unwrapped:
        click.echo(f"{file}: note: --trigger is a whole {unwrapped} event; its data is the trigger", err=True)
    fail = {node: message or "simulated failure" for node, _, message in (f.partition("=") for f in failures)}
    try:
        result = simulate(
            document,
            subject_doc,
            trigger=trigger_doc,
            events=events_doc,
            start=start,
            run_id=run_id,
            fail=fail,
        )
    except FlowInvalid as exc:
        for problem in exc.problems:
            click.echo(f"{file}:{problem.pointer}: {problem.message}", err=True)
        raise SystemExit(1) from None
    except ValueError as exc:
        raise click.ClickException(_name_option(str(exc))) from None
    except Exception as exc:  # a bug, not bad input: one line, never a traceback on the user's screen
        raise click.ClickException(f"the simulation stopped: {type(exc).__name__}: {exc}") from None
    warnings = [*result.warnings, _trigger_mismatch(document, trigger_doc, subject_doc, result)]
    for warning in filter(None, warnings):
        click.echo(f"{file}: warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=_plain))
    else:
        click.echo(timeline(result, document))


def _event_data(document: Any, trigger: Any) -> tuple[Any, str | None]:
    """`--trigger` given as a whole event (`{"type": "form.submitted", "data": {...}}`) of a type the
    flow is triggered by: its `data`, which is what `trigger.*` means (DESIGN §3)."""
    if not isinstance(trigger, Mapping) or not isinstance(trigger.get("data"), Mapping):
        return trigger, None
    triggers = document.get("triggers") if isinstance(document, Mapping) else None
    types = {t.get("event") for t in triggers or [] if isinstance(t, Mapping) and t.get("type") == "event"}
    if trigger.get("type") in types:
        return trigger["data"], str(trigger["type"])
    return trigger, None


def _trigger_mismatch(
    document: Mapping[str, Any], trigger: Mapping[str, Any] | None, subject: Any, result: SimResult
) -> str | None:
    """A note when `--trigger` fails the `where` of every event trigger: no real event like it would
    start this flow, though the simulation runs it as given (the editor's test panel does the same)."""
    wheres = [t.get("where") for t in document.get("triggers") or [] if isinstance(t, Mapping)]
    kinds = {t.get("type") for t in document.get("triggers") or [] if isinstance(t, Mapping)}
    if trigger is None or kinds != {"event"} or not all(isinstance(w, Mapping) for w in wheres):
        return None
    from runtime.conditions import Clock, evaluate
    from runtime.errors import ConditionError
    from runtime.flow import Flow

    records = {k: v for k, v in subject.items() if k in ("contact", "deal") and isinstance(v, Mapping)}
    scope = {**records, "event": dict(trigger), "now": result.run.started_at}
    clock = Clock(result.run.started_at, Flow.from_document(document).timezone)
    try:
        if any(evaluate(where, scope, clock) for where in wheres):
            return None
    except ConditionError:  # a where that cannot be judged without a run is no reason to warn
        return None
    return "--trigger matches the 'where' of none of the flow's event triggers; simulated as given"


def _plain(value: Any) -> Any:
    """Last resort for a value JSON has no type for, so `--json` always prints one object."""
    return iso(value) if isinstance(value, datetime) else str(value)


def _name_option(message: str) -> str:
    """The simulator's message prefixed with the option it is about (`--events: events/0: ...`)."""
    for prefix, option in (("events", "--events"), ("subject", "--subject"), ("start", "--start")):
        if message.startswith(prefix):
            return f"{option}: {message}"
    return message


def timeline(result: SimResult, document: Mapping[str, Any]) -> str:
    """A readable timeline in the subject's timezone (the one its delays and windows followed: the
    contact's, else the flow's), named in the header: one line per step, its effect underneath."""
    tz = result.timezone
    effects = {(e["node"], e["at"]): e for e in result.effects}
    whose = "the contact's timezone" if result.timezone_source == "contact" else "the flow's timezone"
    lines = [f"{document.get('name') or document.get('key')} — simulated; times in {tz} ({whose})"]
    for step, raw in zip(result.steps, result.to_json()["steps"], strict=True):
        port = f"→ {step.port}" if step.port else ("✗ failed" if step.error and not step.port else "")
        lines.append(f"{_local(step.at, tz)}  {step.node:<24} {step.type:<9} {port}")
        effect = effects.get((step.node, raw["at"]))
        if step.type == "action" and effect:
            lines.append(f"{'':18}  {effect['action']}: {_short(effect['params'])}")
        elif step.error:
            lines.append(f"{'':18}  error: {step.error}")
        elif step.type in ("delay", "wait_for", "branch", "split", "set", "exit") and raw["output"]:
            lines.append(f"{'':18}  {_short(raw['output'])}")
    tail = f"status: {result.status}"
    if result.exit_reason:
        tail += f" ({result.exit_reason})"
    if result.error:
        tail += f" — {result.error}"
    lines.append(tail + f"; {len(result.steps)} steps, {len(result.effects)} effects")
    return "\n".join(lines)


def _local(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")


def _short(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
