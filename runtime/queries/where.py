"""Search conditions over records: the flow condition language (runtime.conditions), checked up front
with a JSON pointer for every problem, evaluated in Python, with plain `eq`/`in` tests on indexed
columns pushed down to SQL as a pre-filter (never narrower than the Python test)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.sql.elements import ColumnElement

from runtime.conditions import (
    DURATION_OPS,
    LIST_OPS,
    OPERATORS,
    REGEX_OPS,
    UNARY_OPS,
    Clock,
    _back,
    _regex,
    evaluate,
)
from runtime.durations import is_duration, parse_duration, to_datetime
from runtime.errors import ConditionError, DurationError, TemplateError
from runtime.queries.errors import Invalid
from runtime.templates import check_syntax, is_template

MAX_DEPTH = 20
MAX_LEAVES = 200
LEAF_KEYS = frozenset({"field", "op", "value"})
NON_ASCII = r"[^\x01-\x7f]"
Problems = list[tuple[str, str]]


def check(condition: Any, roots: Sequence[str], pointer: str = "/where") -> None:
    """Raise Invalid naming every problem of `condition`; `roots` are the field prefixes allowed."""
    problems: Problems = []
    leaves = list(_walk(condition, pointer, 0, problems))
    if len(leaves) > MAX_LEAVES:
        problems.append((pointer, f"a search condition may have at most {MAX_LEAVES} field tests"))
    for ptr, leaf in leaves:
        _check_leaf(leaf, ptr, roots, problems)
    if problems:
        raise Invalid.many(problems)


def _walk(cond: Any, ptr: str, depth: int, problems: Problems) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if depth > MAX_DEPTH:
        problems.append((ptr, f"conditions may nest at most {MAX_DEPTH} levels deep"))
        return
    if not isinstance(cond, Mapping):
        problems.append((ptr, "a condition is an object: {all: [..]}, {any: [..]}, {not: ..} or a test"))
        return
    for key in ("all", "any"):
        if key in cond:
            _extra(cond, {key}, ptr, problems)
            items = cond[key]
            if not isinstance(items, list):
                problems.append((f"{ptr}/{key}", f"'{key}' takes a list of conditions"))
                return
            for i, item in enumerate(items):
                yield from _walk(item, f"{ptr}/{key}/{i}", depth + 1, problems)
            return
    if "not" in cond:
        _extra(cond, {"not"}, ptr, problems)
        yield from _walk(cond["not"], f"{ptr}/not", depth + 1, problems)
        return
    if "field" not in cond:
        problems.append((ptr, "a condition needs one of all, any, not or field"))
        return
    _extra(cond, LEAF_KEYS, ptr, problems)
    yield ptr, cond


def _extra(cond: Mapping[str, Any], allowed: set[str] | frozenset[str], ptr: str, problems: Problems) -> None:
    for key in cond:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            problems.append((f"{ptr}/{key}", f"unexpected key {key!r} here; allowed: {known}"))


def _check_leaf(leaf: Mapping[str, Any], ptr: str, roots: Sequence[str], problems: Problems) -> None:
    field, op = leaf.get("field"), leaf.get("op")
    if not isinstance(field, str) or not field:
        problems.append((f"{ptr}/field", "the field is a dotted path such as contact.email"))
    elif field.split(".", 1)[0] not in roots or "." not in field:
        known = " or ".join(f"{r}.*" for r in roots)
        problems.append((f"{ptr}/field", f"{field!r} cannot be searched here; use {known} fields"))
    if op not in OPERATORS:
        problems.append((f"{ptr}/op", f"unknown operator {op!r}; known: {', '.join(OPERATORS)}"))
        return
    if op in UNARY_OPS:
        return
    if "value" not in leaf:
        problems.append((ptr, f"operator {op!r} needs a value"))
        return
    value = leaf["value"]
    if isinstance(value, str) and is_template(value):
        error = check_syntax(value)
        if error:
            problems.append((f"{ptr}/value", error))
        return
    message = _value_problem(str(op), value)
    if message:
        problems.append((f"{ptr}/value", message))


def _value_problem(op: str, value: Any) -> str | None:
    if op in LIST_OPS and not isinstance(value, list):
        return f"operator {op!r} needs a list as its value"
    if op in DURATION_OPS and not is_duration(value):
        return f"operator {op!r} needs an ISO-8601 duration such as P30D, got {value!r}"
    if op in DURATION_OPS and not _reachable(str(value)):
        return f"the duration {value!r} reaches beyond the calendar (years 1 to 9999)"
    if op in REGEX_OPS:
        if not isinstance(value, str):
            return "operator 'matches' needs a regular expression string"
        try:
            _regex(value)
        except ConditionError as exc:
            return exc.message
    if op in ("before", "after") and (isinstance(value, bool | int | float) or to_datetime(value) is None):
        return f"operator {op!r} needs a date or datetime such as 2026-01-31, got {value!r}"
    return None


def _reachable(text: str) -> bool:
    """Whether now plus or minus the duration is still a datetime (P9999Y is not)."""
    now = datetime.now(UTC)
    try:
        span = parse_duration(text)
        for sign in (1, -1):
            type(span)(sign, span.years, span.months, span.days, span.seconds).add_to(now)
    except (DurationError, ValueError, OverflowError):
        return False
    return True


def matches(condition: Mapping[str, Any], scope: Mapping[str, Any], clock: Clock, pointer: str) -> bool:
    """Evaluate a checked condition; a template or operator failure becomes Invalid at its pointer."""
    try:
        return evaluate(condition, scope, clock, pointer)
    except ConditionError as exc:
        raise Invalid.at(exc.pointer or pointer, exc.message) from None
    except TemplateError as exc:
        raise Invalid.at(exc.pointer or pointer, exc.message) from None
    except (ValueError, OverflowError) as exc:  # a date computation out of the calendar
        raise Invalid.at(pointer, f"the condition cannot be evaluated: {exc}") from None


# ---------------------------------------------------------------- SQL pre-filter


def conjuncts(condition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The leaves every match must satisfy: the root leaf, or the leaves directly under a root `all`."""
    if "field" in condition:
        return [condition]
    if isinstance(condition.get("all"), list):
        return [c for c in condition["all"] if isinstance(c, Mapping) and "field" in c]
    return []


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and -(2**63) < value < 2**63:  # wider ones are left to the Python test
        return value
    return None


def _plain_text(value: Any) -> str | None:
    """A string whose condition semantics are exactly case-insensitive ASCII equality."""
    if not isinstance(value, str) or not value.isascii() or is_template(value) or not value.strip():
        return None
    try:
        float(value)
        return None
    except ValueError:
        pass
    return None if to_datetime(value) is not None else value.lower()


def prefilter(
    condition: Mapping[str, Any], kind: str, columns: Mapping[str, tuple[str, Any]], clock: Clock
) -> list[ColumnElement[bool]]:
    """SQL clauses implied by the condition; `columns` maps a field name to (int|bool|text|time, column)."""
    clauses: list[ColumnElement[bool]] = []
    for leaf in conjuncts(condition):
        op, field = str(leaf.get("op")), str(leaf.get("field", ""))
        spec = columns.get(field.split(".", 1)[1]) if field.startswith(f"{kind}.") else None
        if spec is None:
            continue
        if spec[0] == "time":
            clause = _time_clause(op, leaf.get("value"), spec[1], clock)
        elif op in ("eq", "in"):
            values = leaf.get("value") if op == "in" else [leaf.get("value")]
            clause = _clause(spec, values) if isinstance(values, list) and values else None
        else:
            clause = None
        if clause is not None:
            clauses.append(clause)
    return clauses


def _time_clause(op: str, value: Any, column: Any, clock: Clock) -> ColumnElement[bool] | None:
    """`older_than`, `before` and `after` on a datetime column, with the cut-off the Python test uses."""
    if not isinstance(value, str) or is_template(value):
        return None
    if op == "older_than" and is_duration(value):
        span = parse_duration(value)
        return column < _back(type(span)(1, span.years, span.months, span.days, span.seconds), clock)
    if op in ("before", "after"):
        ref = to_datetime(value, clock.tz)
        if ref is None or not 1900 <= ref.year <= 9000:  # far dates stay in Python (no overflow in SQL)
            return None
        return column < ref if op == "before" else column > ref
    return None


def _clause(spec: tuple[str, Any], values: list[Any]) -> ColumnElement[bool] | None:
    kind, column = spec
    if kind == "int":
        ints = [_as_int(v) for v in values]
        return column.in_(ints) if all(i is not None for i in ints) else None
    if kind == "bool":
        return column.in_(values) if all(isinstance(v, bool) for v in values) else None
    texts = [_plain_text(v) for v in values]
    if not all(t is not None for t in texts):
        return None
    # Non-ASCII values go to the Python test: case-folding may turn them into ASCII (Straße ~ strasse).
    return or_(func.lower(column).in_(texts), column.regexp_match(NON_ASCII))
