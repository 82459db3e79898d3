"""Owner assignment over a team: round robin, weighted (smooth weighted round robin) or least loaded,
skipping people marked away. Pointers live in the store's counters, so every worker shares them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.base import PermanentError, Records

Member = dict[str, Any]


def _round_robin(records: Records, team: str, members: list[Member]) -> Member:
    turn = records.next_counter(f"assign_owner:{team}:round_robin")
    return members[(turn - 1) % len(members)]


def weighted_cycle(weights: list[int]) -> list[int]:
    """One cycle of smooth weighted round robin (nginx's): indexes, each appearing `weight` times,
    spread out rather than bunched (weights 5,1,1 give a a b a c a a)."""
    current = [0] * len(weights)
    total = sum(weights)
    order = []
    for _ in range(total):
        for i, weight in enumerate(weights):
            current[i] += weight
        best = max(range(len(weights)), key=lambda i: current[i])
        current[best] -= total
        order.append(best)
    return order


def _weighted(records: Records, team: str, members: list[Member]) -> Member:
    weights = [max(0, int(m.get("weight", 1) if m.get("weight") is not None else 1)) for m in members]
    if not any(weights):
        raise PermanentError(f"every available member of team {team!r} has weight 0")
    cycle = weighted_cycle(weights)
    turn = records.next_counter(f"assign_owner:{team}:weighted")
    return members[cycle[(turn - 1) % len(cycle)]]


def _least_loaded(records: Records, team: str, members: list[Member]) -> Member:
    loads = [records.open_load(m["id"]) for m in members]
    return members[min(range(len(members)), key=lambda i: (loads[i], i))]


STRATEGIES: dict[str, Callable[[Records, str, list[Member]], Member]] = {
    "round_robin": _round_robin,
    "weighted": _weighted,
    "least_loaded": _least_loaded,
}


def pick_owner(records: Records, team: str, strategy: str) -> Member:
    """The member of `team` who gets the next record."""
    if strategy not in STRATEGIES:
        raise PermanentError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    members = [m for m in records.team_members(team) if not m.get("away")]
    if not members:
        raise PermanentError(f"team {team!r} has nobody available (empty, or everyone is away)")
    return STRATEGIES[strategy](records, team, members)
