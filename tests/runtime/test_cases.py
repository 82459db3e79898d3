"""Interpreter cases as data: each file in tests/cases/ is a flow, a subject, events and the expected
status, path, steps and effects (see tests/support/cases.py). Adding a case is adding a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cases import check_case

CASES = sorted((Path(__file__).parents[1] / "cases").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = json.loads(path.read_text())
    problems = check_case(case)
    assert not problems, "\n".join(problems)


def test_there_are_cases() -> None:
    assert len(CASES) >= 30
