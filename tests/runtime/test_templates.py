"""Templates: record keys named like dict methods, native values that must stay plain JSON data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from runtime.errors import TemplateError
from runtime.params import jsonable
from runtime.templates import render

SCOPE = {
    "trigger": {"items": [{"sku": "A"}, {"sku": "B"}], "keys": "k1", "values": 3, "update": "yes"},
    "contact": {"email": "ann@example.com", "tags": ["vip", "b2b", "vip"]},
    "vars": {},
    "now": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ trigger.items }}", [{"sku": "A"}, {"sku": "B"}]),
        ("{{ trigger.keys }}", "k1"),
        ("{{ trigger.values + 1 }}", 4),
        ("{{ trigger.update }}", "yes"),
        ("{{ trigger.items | length }}", 2),
        ("{{ contact.get('nickname', 'friend') }}", "friend"),  # no such key: the method still works
    ],
)
def test_dots_reach_keys_before_methods(template: str, expected: object) -> None:
    assert render(template, SCOPE) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ contact.tags | unique }}", ["vip", "b2b"]),
        ("{{ contact.tags | reverse }}", ["vip", "b2b", "vip"]),
        ("{{ contact.tags | map('upper') }}", ["VIP", "B2B", "VIP"]),
        ("{{ range(3) }}", [0, 1, 2]),
        ("{{ {'first': contact.tags | first} }}", {"first": "vip"}),
    ],
)
def test_native_values_are_plain_data(template: str, expected: object) -> None:
    value = render(template, SCOPE)
    assert value == expected
    json.dumps(jsonable(value))


@pytest.mark.parametrize("template", ["{{ contact.items }}", "Tags: {{ contact.keys }}"])
def test_a_method_is_an_error_not_a_value(template: str) -> None:
    with pytest.raises(TemplateError, match="method"):
        render(template, SCOPE)


@pytest.mark.parametrize("template", ["{{ [contact.nickname] }}", "{{ {'n': contact.nickname} }}"])
def test_undefined_inside_a_native_value_fails(template: str) -> None:
    with pytest.raises(TemplateError, match=r"contact\.nickname is undefined"):
        render(template, SCOPE)


def test_datetimes_in_text_are_iso() -> None:
    assert render("sent {{ now }}", SCOPE) == "sent 2026-03-02T09:00:00Z"
    assert render("{{ '2026-03-10T18:00:00+02:00' | datetime }} local", SCOPE) == (
        "2026-03-10T18:00:00+02:00 local"
    )
    assert render("{{ now }}", SCOPE) == SCOPE["now"]  # a lone expression stays a datetime


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 1 }}", 1),
        ("{{1}}", 1),
        ("{{   vars.n + 1   }}", 3),  # whitespace inside the braces is the expression's own
        ("{{\nvars.n\n}}", 2),
        (" {{ 1 }}", " 1"),  # anything outside the one expression makes the whole a string (DESIGN §3)
        ("{{ 1 }} ", "1 "),
        ("{{ vars.n }}\n", "2\n"),
        ("\t{{ [1, 2] }}", "\t[1, 2]"),
        ("{{ 1 }}{{ 2 }}", "12"),
    ],
)
def test_only_exactly_one_expression_is_native(template: str, expected: object) -> None:
    result = render(template, {**SCOPE, "vars": {"n": 2}})
    assert result == expected and type(result) is type(expected)
