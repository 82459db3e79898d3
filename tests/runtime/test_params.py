"""Rendered params fitted to their schema's scalar types where a template made them."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from connectors.base import Action
from connectors.registry import default_registry
from runtime.params import fit_templated, plain_output

SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "points": {"type": "number"},
        "count": {"type": "integer"},
        "flag": {"type": "boolean"},
        "query": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        "lines": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "number"}}}},
    },
}


@pytest.mark.parametrize(
    ("template", "value", "expected"),
    [
        ({"text": "{{ n }}"}, {"text": 5}, {"text": "5"}),
        ({"text": "{{ ok }}"}, {"text": True}, {"text": "True"}),
        ({"text": 5}, {"text": 5}, {"text": 5}),  # a literal is the author's: the schema check reports it
        ({"points": "{{ a }}{{ b }}"}, {"points": "15"}, {"points": 15}),
        ({"points": "{{ x }}"}, {"points": "2.5"}, {"points": 2.5}),
        ({"points": "{{ x }}"}, {"points": "many"}, {"points": "many"}),
        ({"count": "{{ x }}"}, {"count": "2.5"}, {"count": "2.5"}),
        ({"count": "{{ x }}"}, {"count": "3"}, {"count": 3}),
        ({"points": "{{ x }}"}, {"points": "nan"}, {"points": "nan"}),
        ({"flag": "{{ x }}"}, {"flag": "TRUE"}, {"flag": True}),
        ({"query": {"page": "{{ p }}"}}, {"query": {"page": [1]}}, {"query": {"page": [1]}}),
        ({"lines": [{"qty": "{{ q }}"}]}, {"lines": [{"qty": "2"}]}, {"lines": [{"qty": 2}]}),
    ],
)
def test_fit_templated(template: Any, value: Any, expected: Any) -> None:
    assert fit_templated(SCHEMA, template, value) == expected


# ---------------------------------------------------------------- outputs


def _action(key: str, output_schema: dict[str, Any] | None = None) -> Action:
    action = default_registry().action(key)
    return action if output_schema is None else dataclasses.replace(action, output_schema=output_schema)


def test_declared_datetimes_in_an_output_are_utc_with_z() -> None:
    task = _action("crm.create_task")
    out = plain_output(task, {"task_id": 3, "assignee": None, "due_at": "2026-11-21T15:00:00+00:00"})
    assert out == {"task_id": 3, "assignee": None, "due_at": "2026-11-21T15:00:00Z"}
    assert plain_output(task, {"due_at": "2026-11-21T17:00:00+02:00"})["due_at"] == "2026-11-21T15:00:00Z"
    assert plain_output(task, {"due_at": "2026-11-21T15:00:00"})["due_at"] == "2026-11-21T15:00:00"  # naive
    assert plain_output(task, {"due_at": None})["due_at"] is None


def test_datetime_objects_anywhere_in_an_output_become_iso_z() -> None:
    schema = {"type": "object", "properties": {"items": {"type": "array"}}}
    when = datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    out = plain_output(_action("http.request", schema), {"items": [{"at": when}], "on": date(2026, 3, 2)})
    assert out == {"items": [{"at": "2026-03-02T09:00:00Z"}], "on": "2026-03-02"}


def test_undeclared_strings_are_the_providers_data() -> None:
    schema = {"type": "object", "properties": {"body": {"type": "string"}},
              "additionalProperties": {"type": "string", "format": "date-time"}}
    out = plain_output(_action("http.request", schema),
                       {"body": "2026-11-21T15:00:00+00:00", "created": "2026-11-21T15:00:00+00:00",
                        "when": "soon"})
    assert out == {"body": "2026-11-21T15:00:00+00:00", "created": "2026-11-21T15:00:00Z", "when": "soon"}


@pytest.mark.parametrize("key", sorted(a.key for a in default_registry().actions()))
def test_example_outputs_are_already_plain(key: str) -> None:
    action = default_registry().action(key)
    assert plain_output(action, action.example_output) == action.example_output
