"""Validation time for flows of 10, 100 and 1,000 nodes (schema and semantic layers, every check).

The flows are realistic chains: actions with templated params, branches on conditions, delays with
send windows, waits with timeouts, set nodes; the last third loops back through a delay.
Run: `flowright bench validation` or `python tests/bench/bench_validation.py`.
"""

from __future__ import annotations

import time
from typing import Any

from connectors.registry import default_registry
from runtime.validation import validate_flow

SIZES = (10, 100, 1000)


def _node(i: int, last: int) -> dict[str, Any]:
    nid, nxt = f"n{i}", f"n{i + 1}"
    kind = i % 5
    if i == last:
        return {"id": nid, "type": "delay", "duration": "P1D", "next": f"n{last * 2 // 3}"}
    if kind == 0:
        return {
            "id": nid,
            "type": "action",
            "action": "mail.send",
            "next": nxt,
            "on_error": nxt,
            "params": {
                "to": "{{ contact.email }}",
                "subject": "Step {{ vars.n }} for {{ contact.first_name }}",
                "body": "Hello {{ contact.first_name | default('there') }}",
            },
        }
    if kind == 1:
        return {
            "id": nid,
            "type": "branch",
            "else": nxt,
            "rules": [
                {
                    "when": {
                        "all": [
                            {"field": "contact.score", "op": "gte", "value": 10},
                            {"field": "contact.last_contact_at", "op": "older_than", "value": "P30D"},
                        ]
                    },
                    "next": nxt,
                }
            ],
        }
    if kind == 2:
        return {
            "id": nid,
            "type": "delay",
            "duration": "PT4H",
            "next": nxt,
            "window": {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00"},
        }
    if kind == 3:
        return {
            "id": nid,
            "type": "wait_for",
            "event": "email.opened",
            "timeout": "P3D",
            "where": {"field": "event.campaign", "op": "eq", "value": "{{ run.flow }}"},
            "next": nxt,
            "on_timeout": nxt,
        }
    return {"id": nid, "type": "set", "values": {"n": "{{ (vars.n | default(0)) + 1 }}"}, "next": nxt}


def chain(size: int) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": f"bench-{size}",
        "name": f"bench {size}",
        "subject": "contact",
        "triggers": [
            {
                "type": "event",
                "event": "form.submitted",
                "where": {"field": "event.form", "op": "eq", "value": "guide"},
            }
        ],
        "start": "n0",
        "settings": {"timezone": "Europe/Vilnius", "exit_on": [{"event": "meeting.booked"}]},
        "nodes": [_node(i, size - 1) for i in range(size)],
    }


def run(repeats: int = 5) -> dict[str, Any]:
    registry = default_registry()
    validate_flow(chain(10), registry)  # compile the schema once, as a running server has
    results: dict[str, Any] = {}
    for size in SIZES:
        doc = chain(size)
        best = float("inf")
        for _ in range(repeats):
            began = time.perf_counter()
            problems = validate_flow(doc, registry)
            best = min(best, time.perf_counter() - began)
        assert not [p for p in problems if p.is_error], problems[:3]
        results[f"nodes_{size}_ms"] = round(best * 1000, 2)
    return results


if __name__ == "__main__":
    print(run())
