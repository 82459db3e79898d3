"""Data-driven simulation cases: flow + subject + trigger + events -> expected status, path, effects.

A case file (JSON):
  {"name", "flow": {...} (inline; example bundles pass their resolved flow instead), "subject", "trigger",
   "events": [{"after": "P2D" | "at": ISO, "type", "data"}], "start", "run_id", "fail": {node: error},
   "expect": {"status", "path", "exit_reason", "error" (substring), "effects": [{"node", "action", "at",
              "params" (subset)}], "steps": [{"node", "port", "at", "output" (subset)}], "vars" (subset),
              "records": {"contact": {...}, "deal": {...}} (subset), "tasks": [subset per task]}}
Effects and steps are compared in order and must match in number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.simulator import SimResult, simulate


def run_case(case: Mapping[str, Any], flow_doc: Mapping[str, Any] | None = None) -> SimResult:
    return simulate(
        flow_doc if flow_doc is not None else case["flow"],
        case.get("subject") or {},
        trigger=case.get("trigger"),
        events=case.get("events") or [],
        start=case.get("start", "2026-03-02T09:00:00Z"),
        run_id=case.get("run_id", "sim"),
        fail=case.get("fail"),
    )


def check_case(case: Mapping[str, Any], flow_doc: Mapping[str, Any] | None = None) -> list[str]:
    """Mismatches between the case's expectations and the simulation (empty: the case passes)."""
    result = run_case(case, flow_doc)
    expect = case.get("expect") or {}
    out = result.to_json()
    problems: list[str] = []
    for key in ("status", "path"):
        if key in expect and expect[key] != out[key]:
            problems.append(f"{key}: expected {expect[key]!r}, got {out[key]!r}")
    if "exit_reason" in expect and expect["exit_reason"] != result.exit_reason:
        problems.append(f"exit_reason: expected {expect['exit_reason']!r}, got {result.exit_reason!r}")
    if "error" in expect and (result.error is None or expect["error"] not in result.error):
        problems.append(f"error: expected to contain {expect['error']!r}, got {result.error!r}")
    problems += _compare_list(
        "effects", expect.get("effects"), out["effects"], ("node", "action", "at"), "params"
    )
    problems += _compare_list("steps", expect.get("steps"), out["steps"], ("node", "port", "at"), "output")
    problems += _subset("vars", expect.get("vars"), result.vars)
    for kind, fields in (expect.get("records") or {}).items():
        problems += _subset(f"records.{kind}", fields, result.records.get(kind) or {})
    if "tasks" in expect:
        problems += _compare_list("tasks", expect["tasks"], result.tasks, (), None, subset_items=True)
    if problems:
        problems.append(f"(actual path: {out['path']}, status: {out['status']}, error: {result.error})")
    return problems


def _compare_list(
    name: str,
    expected: list[Any] | None,
    actual: list[Any],
    exact: tuple[str, ...],
    subset_key: str | None,
    subset_items: bool = False,
) -> list[str]:
    if expected is None:
        return []
    problems = []
    if len(expected) != len(actual):
        problems.append(
            f"{name}: expected {len(expected)}, got {len(actual)}: "
            f"{[a.get('node', a) if isinstance(a, dict) else a for a in actual]}"
        )
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if subset_items:
            problems += _subset(f"{name}/{index}", want, got)
            continue
        for key in exact:
            if key in want and want[key] != got.get(key):
                problems.append(f"{name}/{index}/{key}: expected {want[key]!r}, got {got.get(key)!r}")
        if subset_key and subset_key in want:
            problems += _subset(f"{name}/{index}/{subset_key}", want[subset_key], got.get(subset_key))
    return problems


def _subset(name: str, expected: Any, actual: Any) -> list[str]:
    if expected is None:
        return []
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{name}: expected an object with {dict(expected)!r}, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{name}.{key}: missing (expected {value!r})")
            else:
                problems += _subset(f"{name}.{key}", value, actual[key])
        return problems
    return [] if expected == actual else [f"{name}: expected {expected!r}, got {actual!r}"]
