"""schemas/flow.schema.json and event.schema.json: complete, 2020-12, self-describing for the editor."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

import schemas
from runtime.conditions import OPERATORS
from runtime.flow import NODE_TYPES
from runtime.validation import validate_event

FLOW = schemas.load("flow")
TRIGGER_KINDS = ("event", "webhook", "segment", "schedule", "date", "manual")


@pytest.mark.parametrize("name", ["flow", "event", "template"])
def test_schemas_are_valid_2020_12(name: str) -> None:
    schema = schemas.load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_one_definition_per_node_trigger_and_condition_kind() -> None:
    defs = FLOW["$defs"]
    assert {f"{t}_node" for t in NODE_TYPES} <= set(defs)
    assert {f"{t}_trigger" for t in TRIGGER_KINDS} <= set(defs)
    assert {"all_condition", "any_condition", "not_condition", "leaf_condition"} <= set(defs)
    assert defs["node"]["properties"]["type"]["enum"] == list(NODE_TYPES)
    assert defs["trigger"]["properties"]["type"]["enum"] == list(TRIGGER_KINDS)


def test_the_schema_knows_every_operator_the_engine_has() -> None:
    assert FLOW["$defs"]["leaf_condition"]["properties"]["op"]["enum"] == list(OPERATORS)


def _titled(node: Any, where: str) -> list[str]:
    """Pointers of definitions and properties that lack a title or a description."""
    missing = []
    if isinstance(node, dict):
        for name, sub in (node.get("$defs") or {}).items():
            if not (sub.get("title") and sub.get("description")):
                missing.append(f"{where}/$defs/{name}")
            missing += _titled(sub, f"{where}/$defs/{name}")
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and not (sub.get("title") and sub.get("description")):
                missing.append(f"{where}/properties/{name}")
            missing += _titled(sub, f"{where}/properties/{name}")
    return missing


def test_every_definition_and_property_has_a_title_and_description_for_the_editor() -> None:
    assert _titled(FLOW, "") == []


def test_event_schema_accepts_the_design_examples_and_names_mistakes() -> None:
    ok = {"id": "e-1", "type": "deal.stage_changed", "subject": {"deal_id": 3}, "data": {"to": "won"},
          "at": "2026-11-22T10:00:00+02:00"}
    assert validate_event(ok) == []
    assert validate_event({"type": "form.submitted", "subject": {"contact": {"email": "a@b.c"}}}) == []
    bad = [(p.pointer, p.message) for p in validate_event({"type": "Form", "subject": {"contact": {}}})]
    assert ("/type", '"Form" is not an event type such as deal.stage_changed') in bad
    assert ("/subject/contact", "needs one of 'email' or 'phone'") in bad
