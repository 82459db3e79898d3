"""Every operator of DESIGN §3, the missing-field rule, combinators, templates in values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime.conditions import OPERATORS, Clock, evaluate
from runtime.durations import get_zone
from runtime.errors import ConditionError

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CLOCK = Clock(NOW, get_zone("Europe/Vilnius"))
SCOPE = {
    "contact": {
        "email": "Ann@Example.com",
        "score": 42,
        "score_text": "42",
        "tags": ["vip", "lt"],
        "country": "LT",
        "last_contact_at": "2026-03-01T10:00:00Z",
        "renewal_at": "2026-05-20",
        "empty_text": "",
        "nothing": None,
        "subscribed": True,
    },
    "vars": {"limit": 40},
}

# (op, field, value, expected)
TABLE = [
    ("eq", "contact.country", "LT", True),
    ("eq", "contact.country", "lt", True),
    ("eq", "contact.score", "42", True),
    ("eq", "contact.score", 41, False),
    ("eq", "contact.subscribed", True, True),
    ("eq", "contact.subscribed", 1, True),
    ("ne", "contact.country", "LV", True),
    ("ne", "contact.country", "LT", False),
    ("gt", "contact.score", 41, True),
    ("gt", "contact.score", 42, False),
    ("gte", "contact.score", 42, True),
    ("lt", "contact.score", 50, True),
    ("lte", "contact.score", 42, True),
    ("lte", "contact.score", 41, False),
    ("gt", "contact.score_text", 40, True),
    ("gt", "contact.country", 3, False),
    ("in", "contact.country", ["LT", "LV"], True),
    ("in", "contact.country", ["EE"], False),
    ("in", "contact.tags", ["vip"], True),
    ("not_in", "contact.country", ["EE"], True),
    ("not_in", "contact.country", ["LT"], False),
    ("contains", "contact.email", "example", True),
    ("contains", "contact.tags", "vip", True),
    ("contains", "contact.tags", "gold", False),
    ("not_contains", "contact.tags", "gold", True),
    ("not_contains", "contact.email", "ann", False),
    ("starts_with", "contact.email", "ann@", True),
    ("starts_with", "contact.email", "bob", False),
    ("ends_with", "contact.email", ".com", True),
    ("ends_with", "contact.email", ".lt", False),
    ("exists", "contact.email", None, True),
    ("exists", "contact.nothing", None, False),
    ("exists", "contact.missing", None, False),
    ("not_exists", "contact.missing", None, True),
    ("not_exists", "contact.nothing", None, True),
    ("not_exists", "contact.email", None, False),
    ("empty", "contact.empty_text", None, True),
    ("empty", "contact.missing", None, True),
    ("empty", "contact.email", None, False),
    ("not_empty", "contact.email", None, True),
    ("not_empty", "contact.empty_text", None, False),
    ("not_empty", "contact.missing", None, False),
    ("matches", "contact.email", r"^[a-z]+@example\.com$", False),
    ("matches", "contact.email", r"(?i)^ann@", True),
    ("before", "contact.last_contact_at", "2026-04-01", True),
    ("before", "contact.last_contact_at", "2026-02-01", False),
    ("after", "contact.renewal_at", "2026-05-01T00:00:00Z", True),
    ("after", "contact.renewal_at", "{{ now }}", True),
    ("older_than", "contact.last_contact_at", "P30D", True),
    ("older_than", "contact.last_contact_at", "P90D", False),
    ("within", "contact.last_contact_at", "P30D", False),
    ("within", "contact.last_contact_at", "P90D", True),
    ("within", "contact.renewal_at", "P30D", True),  # a future date 19 days ahead
    ("gte", "contact.score", "{{ vars.limit }}", True),
]


@pytest.mark.parametrize(("op", "field", "value", "expected"), TABLE)
def test_operator(op: str, field: str, value: object, expected: bool) -> None:
    condition = {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}
    assert evaluate(condition, SCOPE, CLOCK) is expected


def test_table_covers_every_operator() -> None:
    assert {row[0] for row in TABLE} == set(OPERATORS)


@pytest.mark.parametrize("op", sorted(set(OPERATORS) - {"not_exists", "empty"}))
def test_missing_field_is_false_for_every_other_operator(op: str) -> None:
    value = {
        "in": ["x"],
        "not_in": ["x"],
        "within": "P1D",
        "older_than": "P1D",
        "before": "2026-01-01",
        "after": "2026-01-01",
        "matches": "x",
    }.get(op, "x")
    assert evaluate({"field": "contact.no_such_field", "op": op, "value": value}, SCOPE, CLOCK) is False


def test_combinators() -> None:
    yes = {"field": "contact.country", "op": "eq", "value": "LT"}
    no = {"field": "contact.country", "op": "eq", "value": "EE"}
    assert evaluate({"all": [yes, {"not": no}]}, SCOPE, CLOCK)
    assert not evaluate({"all": [yes, no]}, SCOPE, CLOCK)
    assert evaluate({"any": [no, yes]}, SCOPE, CLOCK)
    assert not evaluate({"any": []}, SCOPE, CLOCK)
    assert evaluate({"all": []}, SCOPE, CLOCK)


def test_naive_datetimes_are_read_in_the_clock_timezone() -> None:
    # 2026-05-01 14:30 in Vilnius (+3) is 11:30 UTC, before NOW (12:00 UTC)
    scope = {"contact": {"at": "2026-05-01T14:30:00"}}
    assert evaluate({"field": "contact.at", "op": "before", "value": "2026-05-01T12:00:00Z"}, scope, CLOCK)


@pytest.mark.parametrize(
    ("condition", "phrase"),
    [
        ({"field": "contact.email", "op": "matches", "value": "(unclosed"}, "not a valid regular expression"),
        ({"field": "contact.last_contact_at", "op": "older_than", "value": "30 days"}, "ISO-8601 duration"),
        ({"field": "contact.country", "op": "in", "value": "LT"}, "needs a list"),
        ({"field": "contact.email", "op": "nope", "value": 1}, "unknown operator"),
        ({"field": "contact.last_contact_at", "op": "before", "value": "soon"}, "date or datetime"),
    ],
)
def test_unusable_values_raise_never_silently_false(condition: dict, phrase: str) -> None:
    with pytest.raises(ConditionError, match=phrase):
        evaluate(condition, SCOPE, CLOCK)
