"""Layer 2: the semantic checks of DESIGN §2, run over a document of any shape without raising.

Unknown or duplicate ids, missing `start`, dangling exits, unreachable nodes, unknown actions, params
that fail the action's schema (template strings: syntax checked, type skipped), bad durations and
times, conditions and templates reading fields the subject cannot have, and cycles with no delay or
wait in them (a warning). Checks are plain functions in tables: one per document part, one per node
type, one per trigger type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from connectors.registry import ConnectorRegistry
from runtime.conditions import DURATION_OPS, LIST_OPS, OPERATORS, REGEX_OPS, UNARY_OPS
from runtime.durations import DURATION_PATTERN, is_duration, is_zone, parse_duration, to_datetime
from runtime.errors import DurationError
from runtime.params import _validator as params_validator
from runtime.templates import check_syntax, is_template, iter_templates
from runtime.validation.graph import exits_of, reachable, successors, unpaced_cycles
from runtime.validation.problems import Problems, did_you_mean, join, pointer
from runtime.validation.schema_layer import not_about_a_template, problems_from
from runtime.validation.scopes import Scope, template_problems

TIME_OPS = frozenset({"before", "after"})


@dataclass
class Doc:
    """A document being checked, with what the checks share."""

    document: Mapping[str, Any]
    registry: ConnectorRegistry
    problems: Problems
    nodes: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    subject: str = "contact"
    var_names: frozenset[str] = frozenset()
    scopes: dict[tuple[str, frozenset[str] | None], Scope] = field(default_factory=dict)

    @classmethod
    def of(cls, document: Mapping[str, Any], registry: ConnectorRegistry, problems: Problems) -> Doc:
        doc = cls(document, registry, problems)
        subject = document.get("subject", "contact")
        known = isinstance(subject, str) and subject in ("contact", "deal", "none")
        doc.subject = subject if known else "contact"
        names: set[str] = set()
        for i, node in enumerate(_list(document.get("nodes"))):
            if isinstance(node, Mapping) and isinstance(node.get("id"), str):
                doc.nodes.setdefault(node["id"], node)
                doc.positions.setdefault(node["id"], i)
                if node.get("type") == "set" and isinstance(node.get("values"), Mapping):
                    names.update(str(k) for k in node["values"])
        doc.var_names = frozenset(names)
        return doc

    @cached_property
    def node_types(self) -> dict[str, str]:
        return {k: _kind(v) for k, v in self.nodes.items()}

    def scope(self, place: str, records: frozenset[str] | None = None) -> Scope:
        key = (place, records)
        found = self.scopes.get(key)
        if found is None:
            found = self.scopes[key] = Scope.at(place, self.subject, self.node_types, self.var_names, records)
        return found

    def error(self, where: str, message: str) -> None:
        self.problems.add(where, message)

    def warn(self, where: str, message: str) -> None:
        self.problems.warn(where, message)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _kind(part: Mapping[str, Any]) -> str:
    """A node's or trigger's `type` as a table key ("" for anything that is not a string)."""
    kind = part.get("type")
    return kind if isinstance(kind, str) else ""


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# ---------------------------------------------------------------- shared checks


def check_templates(doc: Doc, value: Any, where: str, scope: Scope) -> None:
    """Syntax and names of every template string inside a JSON value."""
    for at, text in iter_templates(value, where):
        mistake = check_syntax(text)
        if mistake:
            doc.error(at, mistake)
            continue
        for severity, message in template_problems(text, scope):
            doc.problems.add(at, message, severity)


def check_condition(doc: Doc, condition: Any, where: str, scope: Scope) -> None:
    """Every leaf: the field may exist here, the op gets the value it needs, templates are sound."""
    if not isinstance(condition, Mapping):
        return
    for key in ("all", "any"):
        for i, sub in enumerate(_list(condition.get(key))):
            check_condition(doc, sub, f"{where}/{key}/{i}", scope)
    if "not" in condition:
        check_condition(doc, condition["not"], f"{where}/not", scope)
    if isinstance(condition.get("field"), str):
        _check_leaf(doc, condition, where, scope)


def _check_leaf(doc: Doc, leaf: Mapping[str, Any], where: str, scope: Scope) -> None:
    found = scope.check_path(leaf["field"])
    if found:
        doc.problems.add(f"{where}/field", found[1], found[0])
    op = leaf.get("op")
    if not isinstance(op, str) or op not in OPERATORS:
        return
    if op in UNARY_OPS:
        if "value" in leaf:
            doc.warn(f"{where}/value", f"{op} takes no value; this one is ignored")
        return
    if "value" not in leaf:
        doc.error(where, f"the operator {op!r} needs a 'value'")
        return
    value = leaf["value"]
    if is_template(value):
        check_templates(doc, value, f"{where}/value", scope)
        return
    for check in VALUE_CHECKS:
        message = check(op, value)
        if message:
            doc.error(f"{where}/value", message)


def _value_list(op: str, value: Any) -> str | None:
    if op in LIST_OPS and not isinstance(value, list):
        return f"the operator {op!r} needs a list as value, such as [\"won\", \"lost\"]"
    return None


def _value_duration(op: str, value: Any) -> str | None:
    if op in DURATION_OPS and not is_duration(value):
        return f"the operator {op!r} needs an ISO-8601 duration such as P30D, not {value!r}"
    return None


def _value_regex(op: str, value: Any) -> str | None:
    if op not in REGEX_OPS:
        return None
    if not isinstance(value, str):
        return f"the operator 'matches' needs a regular expression (a string), not {value!r}"
    try:
        re.compile(value)
    except re.error as exc:
        return f"{value!r} is not a valid regular expression: {exc}"
    return None


def _value_moment(op: str, value: Any) -> str | None:
    if op in TIME_OPS and (isinstance(value, bool | int | float) or to_datetime(value) is None):
        return f"the operator {op!r} needs an ISO date or datetime (or a template giving one), not {value!r}"
    return None


VALUE_CHECKS: tuple[Callable[[str, Any], str | None], ...] = (
    _value_list, _value_duration, _value_regex, _value_moment,
)


def check_duration(doc: Doc, value: Any, where: str, *, positive: bool) -> None:
    """A duration the schema let through that does not parse, or a negative one where time must pass."""
    if not isinstance(value, str) or not re.match(DURATION_PATTERN, value):
        return  # the schema has said it is not a duration
    try:
        span = parse_duration(value)
    except (DurationError, ValueError) as exc:
        doc.error(where, f"{value!r} is not a valid ISO-8601 duration: {exc}")
        return
    if positive and span.sign < 0:
        doc.error(where, f"{value!r} is negative; a wait cannot go back in time")


# ---------------------------------------------------------------- the document's parts


def check_ids(doc: Doc) -> None:
    first: dict[str, int] = {}
    for i, node in enumerate(_list(doc.document.get("nodes"))):
        node_id = node.get("id") if isinstance(node, Mapping) else None
        if not isinstance(node_id, str):
            continue
        if node_id in first:
            doc.error(pointer("nodes", i, "id"),
                      f"duplicate node id {node_id!r}: /nodes/{first[node_id]} has it too")
        else:
            first[node_id] = i


def check_start(doc: Doc) -> None:
    start = doc.document.get("start")
    if isinstance(start, str) and doc.nodes and start not in doc.nodes:
        doc.error("/start", f"no node has id {start!r}{did_you_mean(start, doc.nodes)}")


def check_exits(doc: Doc) -> None:
    for node_id, node in doc.nodes.items():
        base = pointer("nodes", doc.positions[node_id])
        for where, target in exits_of(node):
            if isinstance(target, str) and target not in doc.nodes:
                doc.error(base + where, f"no node has id {target!r}{did_you_mean(target, doc.nodes)}")
            elif target == node_id and _kind(node) not in ("delay", "wait_for"):
                doc.warn(base + where, f"node {node_id!r} leads to itself")


def check_reachable(doc: Doc) -> None:
    start = doc.document.get("start")
    if not isinstance(start, str) or start not in doc.nodes:
        return
    seen = reachable(successors(doc.nodes), start)
    for node_id in doc.nodes:
        if node_id not in seen:
            doc.error(pointer("nodes", doc.positions[node_id]),
                      f"node {node_id!r} is unreachable: no path from start {start!r} leads to it")


def check_cycles(doc: Doc) -> None:
    for cycle in unpaced_cycles(doc.nodes):
        doc.warn(pointer("nodes", doc.positions[cycle[0]]),
                 f"the loop {' -> '.join([*cycle, cycle[0]])} has no delay or wait_for in it; a run going "
                 "round it will hit max_steps and fail")


def check_settings(doc: Doc) -> None:
    settings = _map(doc.document.get("settings"))
    timezone = settings.get("timezone")
    if isinstance(timezone, str) and timezone and not is_zone(timezone):
        doc.error("/settings/timezone", f"{timezone!r} is not an IANA timezone such as Europe/Vilnius")
    check_condition(doc, settings.get("exit_when"), "/settings/exit_when", doc.scope("step"))
    for i, entry in enumerate(_list(settings.get("exit_on"))):
        check_condition(doc, _map(entry).get("where"), pointer("settings", "exit_on", i, "where"),
                        doc.scope("wait"))


def check_nodes(doc: Doc) -> None:
    for i, node in enumerate(_list(doc.document.get("nodes"))):
        if isinstance(node, Mapping):
            NODE_CHECKS.get(_kind(node), _nothing)(doc, node, pointer("nodes", i))


def check_triggers(doc: Doc) -> None:
    for i, trigger in enumerate(_list(doc.document.get("triggers"))):
        if isinstance(trigger, Mapping):
            check = TRIGGER_CHECKS.get(_kind(trigger), _nothing)
            check(doc, trigger, pointer("triggers", i))


# ---------------------------------------------------------------- nodes


def _nothing(doc: Doc, part: Mapping[str, Any], where: str) -> None:
    return None


def _check_action(doc: Doc, node: Mapping[str, Any], where: str) -> None:
    key = node.get("action")
    params = node.get("params", {})
    check_templates(doc, params, join(where, "params"), doc.scope("step"))
    retry = _map(node.get("retry"))
    check_duration(doc, retry.get("backoff"), join(where, "retry", "backoff"), positive=True)
    if not isinstance(key, str):
        return
    if not doc.registry.has_action(key):
        known = [a.key for a in doc.registry.actions()]
        doc.error(join(where, "action"), f"unknown action {key!r}{did_you_mean(key, known)}")
        return
    if not isinstance(params, Mapping):
        return
    validator = params_validator(doc.registry.action(key))
    errors = validator.iter_errors(params)
    doc.problems.extend(problems_from(errors, join(where, "params"), keep=not_about_a_template))


def _check_branch(doc: Doc, node: Mapping[str, Any], where: str) -> None:
    scope = doc.scope("step")
    for i, rule in enumerate(_list(node.get("rules"))):
        check_condition(doc, _map(rule).get("when"), join(where, "rules", i, "when"), scope)


def _check_delay(doc: Doc, node: Mapping[str, Any], where: str) -> None:
    check_duration(doc, node.get("duration"), join(where, "duration"), positive=True)
    check_duration(doc, node.get("offset"), join(where, "offset"), positive=False)
    until = node.get("until")
    if is_template(until):
        check_templates(doc, until, join(where, "until"), doc.scope("step"))
    elif isinstance(until, str) and to_datetime(until) is None:
        doc.error(join(where, "until"),
                  f"{until!r} is not an ISO date or datetime such as 2026-12-24 or 2026-12-24T09:00:00+02:00")
    window = _map(node.get("window"))
    if "from" in window and window.get("from") == window.get("to"):
        doc.error(join(where, "window"),
                  "the window opens and closes at the same time; it would never be open")


def _check_wait_for(doc: Doc, node: Mapping[str, Any], where: str) -> None:
    check_condition(doc, node.get("where"), join(where, "where"), doc.scope("wait"))
    timeout = node.get("timeout")
    check_duration(doc, timeout, join(where, "timeout"), positive=True)


def _check_set(doc: Doc, node: Mapping[str, Any], where: str) -> None:
    check_templates(doc, node.get("values"), join(where, "values"), doc.scope("step"))


def _check_exit(doc: Doc, node: Mapping[str, Any], where: str) -> None:
    check_templates(doc, node.get("reason"), join(where, "reason"), doc.scope("step"))


NODE_CHECKS: dict[str, Callable[[Doc, Mapping[str, Any], str], None]] = {
    "action": _check_action,
    "branch": _check_branch,
    "split": _nothing,
    "delay": _check_delay,
    "wait_for": _check_wait_for,
    "set": _check_set,
    "exit": _check_exit,
}


# ---------------------------------------------------------------- triggers


def _needs_subject(doc: Doc, where: str, kind: str) -> bool:
    if doc.subject == "none":
        doc.error(where, f"a {kind} trigger starts runs about a record; the flow's subject is 'none'")
        return False
    return True


def _matches_subject(doc: Doc, obj: Any, where: str) -> None:
    if isinstance(obj, str) and doc.subject != "none" and obj != doc.subject:
        doc.error(where, f"runs of this flow are about a {doc.subject}; a {obj} cannot start one")


def _check_event_trigger(doc: Doc, trigger: Mapping[str, Any], where: str) -> None:
    check_condition(doc, trigger.get("where"), join(where, "where"), doc.scope("trigger"))


def _check_segment_trigger(doc: Doc, trigger: Mapping[str, Any], where: str) -> None:
    if _needs_subject(doc, where, "segment"):
        check_condition(doc, trigger.get("where"), join(where, "where"), doc.scope("records"))


def _check_schedule_trigger(doc: Doc, trigger: Mapping[str, Any], where: str) -> None:
    cron = trigger.get("cron")
    if isinstance(cron, str):
        try:
            CronTrigger.from_crontab(cron)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            doc.error(join(where, "cron"), f"{cron!r} is not a five-field crontab expression: {exc}")
    for_each = _map(trigger.get("for_each"))
    obj = for_each.get("object")
    if isinstance(obj, str):
        _matches_subject(doc, obj, join(where, "for_each", "object"))
        records = frozenset({obj, "contact"}) if obj == "deal" else frozenset({obj})
        check_condition(doc, for_each.get("where"), join(where, "for_each", "where"),
                        doc.scope("records", records))


def _check_date_trigger(doc: Doc, trigger: Mapping[str, Any], where: str) -> None:
    if _needs_subject(doc, where, "date"):
        _matches_subject(doc, trigger.get("object"), join(where, "object"))
    check_duration(doc, trigger.get("offset"), join(where, "offset"), positive=False)


TRIGGER_CHECKS: dict[str, Callable[[Doc, Mapping[str, Any], str], None]] = {
    "event": _check_event_trigger,
    "webhook": _nothing,
    "segment": _check_segment_trigger,
    "schedule": _check_schedule_trigger,
    "date": _check_date_trigger,
    "manual": _nothing,
}

# The document-level checks, in the order their problems are reported.
CHECKS: tuple[Callable[[Doc], None], ...] = (
    check_ids, check_start, check_exits, check_reachable, check_settings, check_triggers, check_nodes,
    check_cycles,
)


def semantic_problems(document: Any, registry: ConnectorRegistry, problems: Problems,
                      checks: Iterable[Callable[[Doc], None]] = CHECKS) -> None:
    if not isinstance(document, Mapping):
        return
    doc = Doc.of(document, registry, problems)
    for check in checks:
        check(doc)
