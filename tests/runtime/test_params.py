"""Rendered params fitted to their schema's scalar types where a template made them."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.params import fit_templated

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
