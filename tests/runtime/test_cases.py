"""Interpreter cases as data: each file in tests/cases/ is a flow, a subject, events and the expected
status, path, steps and effects (see tests/support/cases.py). Adding a case is adding a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.conditions import OPERATORS
from runtime.interpreter import NODE_HANDLERS
from tests.support.cases import check_case

CASES = sorted((Path(__file__).parents[1] / "cases").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = json.loads(path.read_text())
    problems = check_case(case)
    assert not problems, "\n".join(problems)


def test_there_are_cases() -> None:
    assert len(CASES) >= 30


def _leaf_ops(value: Any) -> Iterator[str]:
    """Every leaf operator anywhere in a flow: branch rules, wait_for, exit_when, exit_on, triggers."""
    if isinstance(value, dict):
        if "field" in value and isinstance(value.get("op"), str):
            yield value["op"]
        for item in value.values():
            yield from _leaf_ops(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaf_ops(item)


def test_cases_use_every_operator_and_node_type() -> None:
    """Adding an operator or a node type without a case fails here, so coverage cannot quietly regress."""
    flows = [json.loads(path.read_text())["flow"] for path in CASES]
    ops = {op for flow in flows for op in _leaf_ops(flow)}
    types = {node["type"] for flow in flows for node in flow["nodes"]}
    missing, unknown = sorted(set(OPERATORS) - ops), sorted(ops - set(OPERATORS))
    assert ops == set(OPERATORS), f"no case for {missing}; unknown {unknown}"
    assert types == set(NODE_HANDLERS), f"no case for {sorted(set(NODE_HANDLERS) - types)}"
