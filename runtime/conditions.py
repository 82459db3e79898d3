"""Conditions: JSON that the editor draws as forms, evaluated by one dispatch table of operators.

`{"all": [C..]}`, `{"any": [C..]}`, `{"not": C}` and leaves `{"field": PATH, "op": OP, "value": V}`.
A missing field is not an error: every operator but `not_exists` and `empty` is false on it. A value
that cannot be used (a bad regex, a non-duration for `within`) raises ConditionError; it is never
turned into "no match".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any

from runtime.durations import parse_duration, to_datetime
from runtime.errors import ConditionError, DurationError
from runtime.templates import is_template, render


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Clock:
    """What time-based operators need: the run clock and the timezone naive datetimes are read in."""

    now: datetime
    tz: tzinfo = UTC


def resolve(path: str, scope: Mapping[str, Any]) -> Any:
    """The value at a dotted path (`contact.email`, `steps.rated.rating`, `event.items.0`) or MISSING."""
    current: Any = scope
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part not in current:
                return MISSING
            current = current[part]
        elif isinstance(current, list | tuple) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current


# ---------------------------------------------------------------- value helpers


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _moment(value: Any, clock: Clock) -> datetime | None:
    if isinstance(value, int | float | bool):
        return None
    return to_datetime(value, clock.tz)


def _comparable(a: Any, b: Any, clock: Clock) -> tuple[Any, Any] | None:
    """A pair that orders meaningfully: numbers, then datetimes, then strings; else None."""
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na, nb
    ma, mb = _moment(a, clock), _moment(b, clock)
    if ma is not None and mb is not None:
        return ma, mb
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    return None


def _equal(a: Any, b: Any, clock: Clock) -> bool:
    if a == b and type(a) is type(b):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    pair = _comparable(a, b, clock)
    if pair is not None and not (isinstance(pair[0], str)):
        return pair[0] == pair[1]
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return bool(a == b)


def _as_list(value: Any, op: str) -> list[Any]:
    if isinstance(value, list | tuple | set):
        return list(value)
    raise ConditionError(f"operator {op!r} needs a list as its value, got {value!r}")


def _duration(value: Any, op: str) -> Any:
    try:
        return parse_duration(value)
    except DurationError:
        raise ConditionError(
            f"operator {op!r} needs an ISO-8601 duration such as P30D, got {value!r}"
        ) from None


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConditionError(f"{pattern!r} is not a valid regular expression: {exc}") from None


def _empty(value: Any) -> bool:
    return value is MISSING or value is None or (isinstance(value, str | list | dict | tuple) and not value)


# ---------------------------------------------------------------- operators
# Each takes (actual, expected, clock); `actual` is never MISSING here except for the four
# presence operators, which are marked in PRESENCE_OPS.

OpFn = Callable[[Any, Any, Clock], bool]


def _op_order(test: Callable[[Any, Any], bool]) -> OpFn:
    def run(actual: Any, expected: Any, clock: Clock) -> bool:
        pair = _comparable(actual, expected, clock)
        return pair is not None and test(*pair)

    return run


def _op_in(actual: Any, expected: Any, clock: Clock) -> bool:
    options = _as_list(expected, "in")
    if isinstance(actual, list):
        return any(_equal(a, o, clock) for a in actual for o in options)
    return any(_equal(actual, o, clock) for o in options)


def _op_contains(actual: Any, expected: Any, clock: Clock) -> bool:
    if isinstance(actual, str):
        return str(expected).casefold() in actual.casefold()
    if isinstance(actual, list | tuple):
        return any(_equal(item, expected, clock) for item in actual)
    if isinstance(actual, Mapping):
        return expected in actual
    return False


def _op_text(test: Callable[[str, str], bool]) -> OpFn:
    def run(actual: Any, expected: Any, clock: Clock) -> bool:
        if not isinstance(actual, str | int | float) or isinstance(actual, bool):
            return False
        return test(str(actual).casefold(), str(expected).casefold())

    return run


def _op_matches(actual: Any, expected: Any, clock: Clock) -> bool:
    if not isinstance(expected, str):
        raise ConditionError(f"operator 'matches' needs a regular expression string, got {expected!r}")
    pattern = _regex(expected)
    return isinstance(actual, str | int | float) and pattern.search(str(actual)) is not None


def _op_time(test: Callable[[datetime, datetime], bool]) -> OpFn:
    def run(actual: Any, expected: Any, clock: Clock) -> bool:
        when, ref = _moment(actual, clock), _moment(expected, clock)
        if ref is None:
            raise ConditionError(f"before/after need a date or datetime as value, got {expected!r}")
        return when is not None and test(when, ref)

    return run


def _op_within(actual: Any, expected: Any, clock: Clock) -> bool:
    """The datetime is no further than the duration from now, either side (last 7 days, next 30)."""
    span = _duration(expected, "within")
    when = _moment(actual, clock)
    if when is None:
        return False
    earliest = span.add_to(clock.now, clock.tz) if span.sign < 0 else _back(span, clock)
    latest = _forward(span, clock)
    return min(earliest, latest) <= when <= max(earliest, latest)


def _back(span: Any, clock: Clock) -> datetime:
    return type(span)(-span.sign, span.years, span.months, span.days, span.seconds).add_to(
        clock.now, clock.tz
    )


def _forward(span: Any, clock: Clock) -> datetime:
    return type(span)(abs(span.sign), span.years, span.months, span.days, span.seconds).add_to(
        clock.now, clock.tz
    )


def _op_older_than(actual: Any, expected: Any, clock: Clock) -> bool:
    """The datetime lies more than the duration before now ("no contact for 30 days")."""
    span = _duration(expected, "older_than")
    when = _moment(actual, clock)
    if when is None:
        return False
    positive = type(span)(1, span.years, span.months, span.days, span.seconds)
    return when < _back(positive, clock)


OPERATORS: dict[str, OpFn] = {
    "eq": lambda a, e, c: _equal(a, e, c),
    "ne": lambda a, e, c: not _equal(a, e, c),
    "gt": _op_order(lambda a, b: a > b),
    "gte": _op_order(lambda a, b: a >= b),
    "lt": _op_order(lambda a, b: a < b),
    "lte": _op_order(lambda a, b: a <= b),
    "in": _op_in,
    "not_in": lambda a, e, c: not _op_in(a, e, c),
    "contains": _op_contains,
    "not_contains": lambda a, e, c: not _op_contains(a, e, c),
    "starts_with": _op_text(lambda a, b: a.startswith(b)),
    "ends_with": _op_text(lambda a, b: a.endswith(b)),
    "exists": lambda a, e, c: a is not None,
    "not_exists": lambda a, e, c: a is MISSING or a is None,
    "empty": lambda a, e, c: _empty(a),
    "not_empty": lambda a, e, c: not _empty(a),
    "matches": _op_matches,
    "before": _op_time(lambda a, b: a < b),
    "after": _op_time(lambda a, b: a > b),
    "within": _op_within,
    "older_than": _op_older_than,
}

# Operators that are asked about a missing field; every other one is false on it.
PRESENCE_OPS = frozenset({"not_exists", "empty"})
# Operators that take no value.
UNARY_OPS = frozenset({"exists", "not_exists", "empty", "not_empty"})
# Operators whose value must be a duration / a list / a regex (for the validator).
DURATION_OPS = frozenset({"within", "older_than"})
LIST_OPS = frozenset({"in", "not_in"})
REGEX_OPS = frozenset({"matches"})


# ---------------------------------------------------------------- evaluation


def evaluate(condition: Mapping[str, Any], scope: Mapping[str, Any], clock: Clock, pointer: str = "") -> bool:
    """True when `condition` holds over `scope` (contact, deal, trigger, steps, vars, run, now, event)."""
    kind = _kind(condition, pointer)
    return COMBINATORS[kind](condition, scope, clock, pointer)


def _kind(condition: Any, pointer: str) -> str:
    if isinstance(condition, Mapping):
        for key in ("all", "any", "not", "field"):
            if key in condition:
                return key
    raise ConditionError(f"not a condition: {condition!r}", pointer=pointer)


def _eval_all(cond: Mapping[str, Any], scope: Mapping[str, Any], clock: Clock, ptr: str) -> bool:
    return all(evaluate(c, scope, clock, f"{ptr}/all/{i}") for i, c in enumerate(cond["all"]))


def _eval_any(cond: Mapping[str, Any], scope: Mapping[str, Any], clock: Clock, ptr: str) -> bool:
    return any(evaluate(c, scope, clock, f"{ptr}/any/{i}") for i, c in enumerate(cond["any"]))


def _eval_not(cond: Mapping[str, Any], scope: Mapping[str, Any], clock: Clock, ptr: str) -> bool:
    return not evaluate(cond["not"], scope, clock, f"{ptr}/not")


def _eval_leaf(cond: Mapping[str, Any], scope: Mapping[str, Any], clock: Clock, ptr: str) -> bool:
    op = cond.get("op")
    fn = OPERATORS.get(op)  # type: ignore[arg-type]
    if fn is None:
        raise ConditionError(f"unknown operator {op!r}; known: {', '.join(OPERATORS)}", pointer=f"{ptr}/op")
    actual = resolve(str(cond["field"]), scope)
    if actual is MISSING and op not in PRESENCE_OPS:
        return False
    expected = cond.get("value")
    if isinstance(expected, str) and is_template(expected):
        names = scope if "now" in scope else {**scope, "now": clock.now}
        expected = render(expected, names, pointer=f"{ptr}/value")
    try:
        return fn(actual, expected, clock)
    except ConditionError as exc:
        raise ConditionError(exc.message, pointer=exc.pointer or f"{ptr}/value") from None
    except DurationError as exc:  # a date the duration moves beyond the calendar
        raise ConditionError(str(exc), pointer=f"{ptr}/value") from None


COMBINATORS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any], Clock, str], bool]] = {
    "all": _eval_all,
    "any": _eval_any,
    "not": _eval_not,
    "field": _eval_leaf,
}


def fields_of(condition: Any, pointer: str = ""):
    """Yield (pointer, field path) for every leaf of a condition (the validator checks them)."""
    if not isinstance(condition, Mapping):
        return
    for key in ("all", "any"):
        for i, c in enumerate(condition.get(key) or []):
            yield from fields_of(c, f"{pointer}/{key}/{i}")
    if "not" in condition:
        yield from fields_of(condition["not"], f"{pointer}/not")
    if "field" in condition:
        yield pointer, condition["field"]


def now_utc() -> datetime:
    return datetime.now(UTC)
