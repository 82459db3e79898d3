"""The interpreter's dispatch tables and the schema name the same kinds."""

from __future__ import annotations

import schemas
from runtime.flow import NODE_TYPES
from runtime.interpreter import APPLY, NODE_HANDLERS, Exit, Fail, Next, Sleep, Wait


def test_node_handlers_match_the_schema_node_enum() -> None:
    node = schemas.load("flow")["$defs"]["node"]
    assert set(NODE_HANDLERS) == set(node["properties"]["type"]["enum"]) == set(NODE_TYPES)


def test_every_node_kind_has_its_own_def() -> None:
    defs = schemas.load("flow")["$defs"]
    assert {f"{kind}_node" for kind in NODE_HANDLERS} <= set(defs)


def test_every_transition_has_an_applier() -> None:
    assert set(APPLY) == {Next, Sleep, Wait, Exit, Fail}
