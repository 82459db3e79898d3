"""Property: simulating any valid flow terminates, whatever its loops, waits and events."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.registry import default_registry
from runtime.simulator import simulate
from runtime.validation import validate_flow

REGISTRY = default_registry()
EVENTS = ["meeting.booked", "review.received", "email.opened"]
FIELDS = ["contact.score", "vars.n", "steps.OUT.rating", "contact.email", "trigger.kind"]
OPS = ["eq", "gte", "lt", "exists", "in", "contains", "older_than"]


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(OPS))
    value = {"in": ["a", 1], "older_than": "P1D", "exists": None}.get(op, draw(st.integers(0, 5)))
    leaf: dict[str, Any] = {"field": draw(st.sampled_from(FIELDS)), "op": op}
    if value is not None:
        leaf["value"] = value
    return draw(st.sampled_from([leaf, {"not": leaf}, {"any": [leaf]}, {"all": [leaf, leaf]}]))


@st.composite
def flows(draw: st.DrawFn) -> dict[str, Any]:
    size = draw(st.integers(1, 8))
    ids = [f"n{i}" for i in range(size)]
    target = st.one_of(st.none(), st.sampled_from(ids))

    def link(node: dict[str, Any], key: str) -> None:
        value = draw(target)
        if value is not None:
            node[key] = value

    nodes = []
    for node_id in ids:
        kind = draw(st.sampled_from(["action", "branch", "split", "delay", "wait_for", "set", "exit"]))
        node: dict[str, Any] = {"id": node_id, "type": kind}
        if kind == "action":
            node.update(action="crm.add_score", params={"points": draw(st.integers(-5, 5))})
            link(node, "next")
        elif kind == "branch":
            node["rules"] = [{"when": draw(conditions()), "next": draw(st.sampled_from(ids))}]
            link(node, "else")
        elif kind == "split":
            node["paths"] = [
                {"weight": draw(st.integers(1, 5)), "next": draw(st.sampled_from(ids))}
                for _ in range(draw(st.integers(1, 3)))
            ]
        elif kind == "delay":
            node["duration"] = draw(st.sampled_from(["PT1M", "P1D", "PT0S"]))
            if draw(st.booleans()):
                node["window"] = {"days": ["mon", "wed"], "from": "09:00", "to": "10:00"}
            link(node, "next")
        elif kind == "wait_for":
            node["event"] = draw(st.sampled_from(EVENTS))
            if draw(st.booleans()):
                node["timeout"] = "P2D"
                link(node, "on_timeout")
            link(node, "next")
        elif kind == "set":
            node["values"] = {"n": "{{ (vars.n | default(0)) + 1 }}"}
            link(node, "next")
        else:
            node["reason"] = "done"
        nodes.append(node)
    nodes = _with_outputs(_reachable(nodes))
    settings_doc: dict[str, Any] = {"max_steps": 200}
    if draw(st.booleans()):
        settings_doc["exit_on"] = [{"event": draw(st.sampled_from(EVENTS))}]
    return {
        "format": "flowright/v1",
        "key": "prop",
        "name": "prop",
        "subject": "contact",
        "triggers": [{"type": "manual"}],
        "start": "n0",
        "settings": settings_doc,
        "nodes": nodes,
    }


def _targets(node: dict[str, Any]) -> list[str]:
    found = [node.get(k) for k in ("next", "else", "on_timeout", "on_error")]
    found += [r["next"] for r in node.get("rules", [])] + [p["next"] for p in node.get("paths", [])]
    return [t for t in found if t]


def _reachable(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the nodes reachable from n0, so that every generated flow is a valid one."""
    by_id = {n["id"]: n for n in nodes}
    seen, todo = {"n0"}, ["n0"]
    while todo:
        for target in _targets(by_id[todo.pop()]):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return [n for n in nodes if n["id"] in seen]


def _with_outputs(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Point `steps.OUT` at a node that has an output (an action or a wait_for), or at the trigger."""
    having = [n["id"] for n in nodes if n["type"] in ("action", "wait_for")]
    replacement = f"steps.{having[0]}" if having else "trigger"
    return json.loads(json.dumps(nodes).replace("steps.OUT", replacement))


events = st.lists(
    st.fixed_dictionaries(
        {
            "after": st.sampled_from(["PT1H", "P1D", "P3D"]),
            "type": st.sampled_from(EVENTS),
            "data": st.fixed_dictionaries({"rating": st.integers(1, 5)}),
        }
    ),
    max_size=4,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(flow=flows(), evs=events)
def test_any_valid_flow_terminates(flow: dict[str, Any], evs: list[dict[str, Any]]) -> None:
    errors = [p for p in validate_flow(flow, REGISTRY) if p.severity == "error"]
    assert not errors, errors  # the strategy only builds valid flows
    result = simulate(
        flow,
        {"contact": {"email": "a@b.c", "score": 3}},
        trigger={"kind": "x"},
        events=evs,
        start="2026-03-02T09:00:00Z",
        registry=REGISTRY,
    )
    assert result.status in {"completed", "exited", "failed", "waiting"}
    assert len(result.steps) <= 200 + 1
    if result.status == "waiting":
        assert result.run.wait is not None
