"""Simulated steps per second: the interpreter over the in-memory host, on realistic flows.

Run: `flowright bench simulator` or `python tests/bench/bench_simulator.py`.
"""

from __future__ import annotations

import time
from typing import Any

from connectors.registry import default_registry
from runtime.simulator import simulate
from runtime.validation import load_flow


def nurture_loop(rounds: int) -> dict[str, Any]:
    """A scoring loop: set, branch, action, delay per round: four steps a round, one effect."""
    return {
        "format": "flowright/v1",
        "key": "bench-loop",
        "name": "bench loop",
        "subject": "contact",
        "triggers": [{"type": "manual"}],
        "start": "init",
        "settings": {"max_steps": rounds * 4 + 10, "timezone": "Europe/Vilnius"},
        "nodes": [
            {"id": "init", "type": "set", "values": {"n": 0}, "next": "inc"},
            {"id": "inc", "type": "set", "values": {"n": "{{ vars.n + 1 }}"}, "next": "check"},
            {
                "id": "check",
                "type": "branch",
                "rules": [{"when": {"field": "vars.n", "op": "gt", "value": rounds}, "next": "done"}],
                "else": "mail",
            },
            {
                "id": "mail",
                "type": "action",
                "action": "mail.send",
                "next": "wait",
                "params": {
                    "to": "{{ contact.email }}",
                    "subject": "Tip {{ vars.n }} for {{ contact.first_name }}",
                    "body": "Hello {{ contact.first_name }}, here is tip number {{ vars.n }}.",
                },
            },
            {
                "id": "wait",
                "type": "delay",
                "duration": "P1D",
                "window": {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00"},
                "next": "inc",
            },
            {"id": "done", "type": "exit", "reason": "finished"},
        ],
    }


def run(rounds: int = 2000, repeats: int = 3) -> dict[str, Any]:
    registry = default_registry()
    flow = load_flow(nurture_loop(rounds), registry)
    subject = {"contact": {"email": "ann@example.com", "first_name": "Ann"}}
    best = float("inf")
    steps = 0
    for _ in range(repeats):
        began = time.perf_counter()
        result = simulate(flow, subject, start="2026-03-02T09:00:00Z", registry=registry)
        best = min(best, time.perf_counter() - began)
        steps = len(result.steps)
        assert result.status == "exited", result.error
    return {"steps": steps, "seconds": round(best, 3), "steps_per_second": round(steps / best)}


if __name__ == "__main__":
    print(run())
