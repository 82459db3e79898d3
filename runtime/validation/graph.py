"""The flow as a graph: each node's exits, reachability from `start`, and cycles that never pause."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

# A node's exits: (pointer inside the node, target id).
Exits = list[tuple[str, Any]]


def _fields(*names: str) -> Callable[[Mapping[str, Any]], Exits]:
    def exits(node: Mapping[str, Any]) -> Exits:
        return [(f"/{name}", node[name]) for name in names if name in node]

    return exits


def _listed(list_name: str, *extra: str) -> Callable[[Mapping[str, Any]], Exits]:
    def exits(node: Mapping[str, Any]) -> Exits:
        entries = node.get(list_name)
        found: Exits = []
        if isinstance(entries, list):
            found = [
                (f"/{list_name}/{i}/next", entry["next"])
                for i, entry in enumerate(entries)
                if isinstance(entry, Mapping) and "next" in entry
            ]
        return found + _fields(*extra)(node)

    return exits


EXITS: dict[str, Callable[[Mapping[str, Any]], Exits]] = {
    "action": _fields("next", "on_error"),
    "branch": _listed("rules", "else"),
    "split": _listed("paths"),
    "delay": _fields("next"),
    "wait_for": _fields("next", "on_timeout"),
    "set": _fields("next"),
    "exit": _fields(),
}

# Nodes that hand the run back to the clock or the outside world, so a loop through them is paced.
PAUSING = frozenset({"delay", "wait_for"})


def exits_of(node: Any) -> Exits:
    if not isinstance(node, Mapping):
        return []
    kind = node.get("type")
    return EXITS.get(kind if isinstance(kind, str) else "", _fields())(node)


def successors(nodes: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each node id's distinct targets that exist."""
    graph: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        targets = [t for _, t in exits_of(node) if isinstance(t, str) and t in nodes]
        graph[node_id] = list(dict.fromkeys(targets))
    return graph


def reachable(graph: Mapping[str, list[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start] if start in graph else []
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(t for t in graph[current] if t not in seen)
    return seen


def strongly_connected(graph: Mapping[str, list[str]]) -> Iterator[list[str]]:
    """Tarjan's algorithm, iterative (flows of thousands of nodes must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                yield component
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])


def unpaced_cycles(nodes: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Cycles (components with a loop) that contain no delay or wait_for: they spin until max_steps."""
    graph = successors(nodes)
    found = []
    for component in strongly_connected(graph):
        looped = len(component) > 1 or component[0] in graph[component[0]]
        if looped and not any(str(nodes[n].get("type")) in PAUSING for n in component):
            found.append(sorted(component, key=list(nodes).index))
    return found
