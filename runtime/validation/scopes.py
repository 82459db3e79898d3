"""Which names a condition or a template may use where it stands, and the checks of its field paths.

DESIGN §3: `contact`, `deal`, `trigger`, `steps.<node_id>`, `vars`, `run`, `now`; `event` only inside
the `where` of a trigger, a `wait_for` or an `exit_on`. A flow's subject decides which records exist:
a contact flow has no deal, a flow with subject `none` has neither.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import meta, nodes
from jinja2.exceptions import TemplateSyntaxError

from runtime.templates import TEXT_ENV
from runtime.validation.problems import did_you_mean

RECORDS: dict[str, frozenset[str]] = {
    "contact": frozenset({"contact"}),
    "deal": frozenset({"deal", "contact"}),
    "none": frozenset(),
}
RUN_NAMES = frozenset({"trigger", "steps", "vars", "run", "now"})
RUN_FIELDS = ("id", "flow", "version", "started_at")
# Nodes whose outcome is kept under steps.<id>.
WITH_OUTPUT = frozenset({"action", "wait_for"})

# The places names are looked up in, and what each adds to the records of the subject.
PLACES: dict[str, frozenset[str]] = {
    "step": RUN_NAMES,
    "wait": RUN_NAMES | {"event"},
    "trigger": frozenset({"event", "now"}),
    "records": frozenset({"now"}),
}


@dataclass(frozen=True)
class Scope:
    """The names visible at one place of a flow, and what the flow declares (nodes, vars)."""

    names: frozenset[str]
    subject: str
    node_types: Mapping[str, str]
    var_names: frozenset[str]

    @classmethod
    def at(cls, place: str, subject: str, node_types: Mapping[str, str], var_names: frozenset[str],
           records: frozenset[str] | None = None) -> Scope:
        have = RECORDS.get(subject, frozenset()) if records is None else records
        return cls(PLACES[place] | have, subject, node_types, var_names)

    def check_path(self, path: str) -> tuple[str, str] | None:
        """(severity, sentence) about a dotted path, or None when it may exist."""
        parts = path.split(".")
        root = parts[0]
        if root not in self.names:
            return "error", self._unknown_root(root)
        return ROOT_CHECKS.get(root, _no_check)(self, parts[1:])

    def _unknown_root(self, root: str) -> str:
        if root in ("contact", "deal"):
            if self.subject == "none":
                return f"{root}.* is not available: the flow's subject is 'none', so runs have no records"
            if self.subject == "contact" and root == "deal":
                return "deal.* is not available: the flow's subject is 'contact', so runs have no deal"
            return f"{root}.* is not available here"
        if root == "event":
            return "event.* is only available in the where of a trigger, a wait_for or an exit_on"
        if root in RUN_NAMES:
            return f"{root}.* is not available here: no run exists yet"
        known = ", ".join(sorted(self.names))
        return f"unknown name {root!r}; names are {known}{did_you_mean(root, self.names)}"


def _no_check(scope: Scope, rest: list[str]) -> tuple[str, str] | None:
    return None


def _check_steps(scope: Scope, rest: list[str]) -> tuple[str, str] | None:
    if not rest:
        return None
    node_id = rest[0]
    kind = scope.node_types.get(node_id)
    if kind is None:
        hint = did_you_mean(node_id, scope.node_types)
        return "error", f"steps.{node_id}: no node has id {node_id!r}{hint}"
    if kind not in WITH_OUTPUT:
        return "error", (f"steps.{node_id}: node {node_id!r} is a {kind} node; "
                         "only action and wait_for nodes have outputs")
    return None


def _check_run(scope: Scope, rest: list[str]) -> tuple[str, str] | None:
    if rest and rest[0] not in RUN_FIELDS:
        return "error", f"run.{rest[0]} does not exist; run has {', '.join(RUN_FIELDS)}"
    return None


def _check_vars(scope: Scope, rest: list[str]) -> tuple[str, str] | None:
    if rest and rest[0] not in scope.var_names:
        hint = did_you_mean(rest[0], scope.var_names)
        return "warning", f"vars.{rest[0]} is never set by a set node{hint}"
    return None


ROOT_CHECKS = {"steps": _check_steps, "run": _check_run, "vars": _check_vars}


# ---------------------------------------------------------------- templates


_DICT_METHODS = frozenset(name for name in dir(dict) if not name.startswith("_"))


@lru_cache(maxsize=4096)
def template_paths(text: str) -> tuple[str, ...]:
    """The dotted paths a template reads (`contact.email`, `steps.ask`, `vars`), as far as they are static.

    Names the template binds itself (`{% set x %}`, loop variables) and Jinja's globals are left out.
    """
    try:
        ast = TEXT_ENV.parse(text)
    except TemplateSyntaxError:
        return ()
    free = meta.find_undeclared_variables(ast) - set(TEXT_ENV.globals)
    paths: list[str] = []
    seen_roots: set[str] = set()
    # `vars.get('n', 0)`, `contact.items()`: a dict method called on a name is not a field of it
    methods = {
        id(call.node)
        for call in ast.find_all(nodes.Call)
        if isinstance(call.node, nodes.Getattr)
        and isinstance(call.node.node, nodes.Name)
        and call.node.attr in _DICT_METHODS
    }
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in methods:
            continue
        path = _static_path(node)
        if path and path[0] in free and len(path) >= 2:
            paths.append(".".join(path[:2]))
            seen_roots.add(path[0])
    paths.extend(sorted(free - seen_roots))
    return tuple(dict.fromkeys(paths))


def _static_path(node: nodes.Node) -> list[str] | None:
    """['steps', 'ask'] for `steps.ask.x` / `steps['ask']`: the root name and its first key."""
    chain: list[str] = []
    current: Any = node
    while isinstance(current, nodes.Getattr | nodes.Getitem):
        if isinstance(current, nodes.Getattr):
            chain.append(current.attr)
        elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str):
            chain.append(current.arg.value)
        else:
            chain = []
        current = current.node
    if not isinstance(current, nodes.Name):
        return None
    chain.append(current.name)
    chain.reverse()
    return chain


def template_problems(text: str, scope: Scope) -> Iterator[tuple[str, str]]:
    """(severity, sentence) for each name a template reads that cannot exist where it stands."""
    for path in template_paths(text):
        found = scope.check_path(path)
        if found:
            yield found[0], f"template {text!r}: {found[1]}"
