"""The template library: every bundle is valid, every resolved flow validates against the real
connector registry, every simulation case passes, and the cases of each flow visit all its nodes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.registry import ConnectorRegistry, default_registry
from runtime.bundles import (
    Bundle,
    BundleError,
    find_bundle,
    list_bundles,
    load_bundle,
    parse_param_text,
    resolve_flows,
    validate_bundle,
)
from runtime.conditions import Clock, evaluate
from runtime.durations import to_datetime
from runtime.validation import validate_flow
from tests.support.cases import check_case, run_case

BUNDLES = list_bundles()
CASES = [(bundle, path) for bundle in BUNDLES for path in bundle.case_files()]
FLOWS = [(bundle, flow) for bundle in BUNDLES for flow in resolve_flows(bundle.document)]
FLOW_IDS = [f"{bundle.name}/{flow['key']}" for bundle, flow in FLOWS]


@pytest.fixture(scope="module")
def registry() -> ConnectorRegistry:
    return default_registry()


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _starts(case: dict[str, Any]) -> bool:
    """False for a case that says its subject and trigger must not start the flow at all."""
    return (case.get("expect") or {}).get("started", True) is not False


RUN_CASES = [(bundle, path) for bundle, path in CASES if _starts(_read(path))]


def _cases_of(bundle: Bundle, flow_key: str) -> list[dict[str, Any]]:
    """The cases that run the flow (not those that check a trigger refuses to start it)."""
    cases = map(_read, bundle.case_files())
    return [case for case in cases if case.get("flow") == flow_key and _starts(case)]


# ---------------------------------------------------------------- the library as a whole

def test_the_library_has_at_least_fifteen_bundles() -> None:
    assert len(BUNDLES) >= 15, [b.name for b in BUNDLES]


def test_bundle_folders_are_named_after_their_bundle() -> None:
    assert [b.path.parent.name for b in BUNDLES] == [b.name for b in BUNDLES]


def test_flow_keys_are_unique_across_the_library() -> None:
    keys = [key for bundle in BUNDLES for key in bundle.flow_keys]
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------- each bundle

@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.name)
def test_bundle_validates_against_template_schema(bundle: Bundle) -> None:
    assert [str(p) for p in validate_bundle(bundle.document)] == []


@pytest.mark.parametrize(("bundle", "flow"), FLOWS, ids=FLOW_IDS)
def test_resolved_flow_validates(bundle: Bundle, flow: dict[str, Any], registry: ConnectorRegistry) -> None:
    errors = [f"{p.pointer}: {p.message}" for p in validate_flow(flow, registry) if p.severity == "error"]
    assert errors == []


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.name)
def test_credential_slots_cover_the_connectors_used(bundle: Bundle, registry: ConnectorRegistry) -> None:
    """An installer is asked for every credential the flows need, and for nothing else."""
    needed = {
        registry.action(node["action"]).connector
        for flow in resolve_flows(bundle.document)
        for node in flow["nodes"]
        if node["type"] == "action" and registry.action(node["action"]).needs_credential
    }
    slots = {slot["connector"] for slot in bundle.credentials}
    assert slots == needed


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.name)
def test_every_case_names_a_flow_of_its_bundle(bundle: Bundle) -> None:
    assert bundle.case_files(), f"{bundle.name} has no cases"
    for path in bundle.case_files():
        assert _read(path).get("flow") in bundle.flow_keys, path.name


@pytest.mark.parametrize(
    ("bundle", "case_path"), RUN_CASES, ids=[f"{b.name}/{p.stem}" for b, p in RUN_CASES]
)
def test_case(bundle: Bundle, case_path: Path) -> None:
    case = _read(case_path)
    flows = {flow["key"]: flow for flow in resolve_flows(bundle.document)}
    flow = flows[case.pop("flow")]
    problems = check_case(case, flow)
    assert problems == [], f"{case['name']}:\n" + "\n".join(problems)


@pytest.mark.parametrize(("bundle", "flow"), FLOWS, ids=FLOW_IDS)
def test_cases_visit_every_node(bundle: Bundle, flow: dict[str, Any]) -> None:
    """Branch coverage: the union of the expected paths of a flow's cases is the set of its nodes."""
    cases = _cases_of(bundle, flow["key"])
    visited = set().union(*(set(case["expect"]["path"]) for case in cases)) if cases else set()
    nodes = {node["id"] for node in flow["nodes"]}
    assert visited == nodes, f"not covered: {sorted(nodes - visited)}; unknown: {sorted(visited - nodes)}"


def _ports(flow: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (node, port) a run can leave a node by: next, on_error, on_timeout, each rule of a branch
    (`rules/<i>`) and its else, each path of a split (`paths/<i>`)."""
    ports: set[tuple[str, str]] = set()
    for node in flow["nodes"]:
        named = [port for port in ("next", "on_error", "on_timeout", "else") if node.get(port)]
        named += [f"rules/{index}" for index, _ in enumerate(node.get("rules") or [])]
        named += [f"paths/{index}" for index, _ in enumerate(node.get("paths") or [])]
        ports |= {(node["id"], port) for port in named}
    return ports


@pytest.mark.parametrize(("bundle", "flow"), FLOWS, ids=FLOW_IDS)
def test_cases_take_every_port(bundle: Bundle, flow: dict[str, Any]) -> None:
    """Branch coverage by edge: every port of every node (an action's on_error even when it leads where
    `next` does, a wait's on_timeout, each rule of a branch) is taken by some case's simulated run."""
    taken: set[tuple[str, str]] = set()
    for case in _cases_of(bundle, flow["key"]):
        steps = run_case(case, flow).to_json()["steps"]
        taken |= {(step["node"], step["port"]) for step in steps if step["port"]}
    missing = sorted(_ports(flow) - taken)
    assert missing == [], f"ports no case takes: {missing}"


# ---------------------------------------------------------------- parameter resolution

def _bundle(params: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": "flowright-bundle/v1", "name": "t", "title": "T", "description": "d", "practice": "p",
        "version": "1.0.0", "params": params, "credentials": [],
        "flows": [{"format": "flowright/v1", "key": "t", "name": "T", "subject": "contact",
                   "triggers": [{"type": "manual"}], "start": nodes[0]["id"], "nodes": nodes}],
    }


PARAMS: list[dict[str, Any]] = [
    {"name": "points", "type": "integer", "default": 20, "description": "score"},
    {"name": "ratio", "type": "number", "default": 0.9, "description": "share"},
    {"name": "wait", "type": "duration", "default": "P3D", "description": "delay"},
    {"name": "vip", "type": "boolean", "default": False, "description": "flag"},
    {"name": "team", "type": "string", "default": "sales", "description": "team"},
    {"name": "lead", "type": "email", "description": "required: who gets escalations"},
]
NODES: list[dict[str, Any]] = [
    {"id": "wait", "type": "delay", "duration": "{{ params.wait }}", "next": "score"},
    {"id": "score", "type": "action", "action": "crm.add_score", "params": {"points": "{{ params.points }}"},
     "next": "check"},
    {"id": "check", "type": "branch",
     "rules": [{"when": {"field": "contact.seats_used", "op": "gte",
                         "value": "{{ contact.seats * params.ratio }}"}, "next": "mail"},
               {"when": {"field": "contact.vip", "op": "eq", "value": "{{ params.vip }}"}, "next": "mail"}],
     "else": "mail"},
    {"id": "mail", "type": "action", "action": "mail.send",
     "params": {"to": "{{ params.lead }}",
                "subject": "Team {{ params.team }}: {{ contact.first_name }} scored",
                "body": "{% if contact.vip %}VIP{% endif %} {{ contact.email }}"}},
]


def test_whole_string_placeholders_keep_their_native_type() -> None:
    [flow] = resolve_flows(_bundle(PARAMS, NODES), {"lead": "lead@example.com"})
    nodes = {n["id"]: n for n in flow["nodes"]}
    assert nodes["score"]["params"]["points"] == 20
    assert nodes["wait"]["duration"] == "P3D"
    assert nodes["check"]["rules"][1]["when"]["value"] is False
    assert nodes["mail"]["params"]["to"] == "lead@example.com"


def test_placeholders_inside_text_and_expressions() -> None:
    given = {"lead": "lead@example.com", "team": "north", "ratio": 0.75}
    [flow] = resolve_flows(_bundle(PARAMS, NODES), given)
    nodes = {n["id"]: n for n in flow["nodes"]}
    assert nodes["mail"]["params"]["subject"] == "Team north: {{ contact.first_name }} scored"
    assert nodes["check"]["rules"][0]["when"]["value"] == "{{ contact.seats * 0.75 }}"
    assert nodes["mail"]["params"]["body"] == "{% if contact.vip %}VIP{% endif %} {{ contact.email }}"


def test_given_values_override_defaults_and_the_document_is_not_changed() -> None:
    document = _bundle(PARAMS, NODES)
    before = copy.deepcopy(document)
    [flow] = resolve_flows(document, {"lead": "a@b.example", "points": 5})
    assert flow["nodes"][1]["params"]["points"] == 5
    assert document == before


def test_unknown_param_is_an_error_with_a_pointer() -> None:
    with pytest.raises(BundleError) as info:
        resolve_flows(_bundle(PARAMS, NODES), {"lead": "a@b.example", "colour": "red"})
    assert [(p.pointer, "unknown parameter 'colour'" in p.message) for p in info.value.problems] == [
        ("/params/colour", True)
    ]


def test_missing_required_param_is_an_error_with_a_pointer() -> None:
    with pytest.raises(BundleError) as info:
        resolve_flows(_bundle(PARAMS, NODES), {})
    assert [p.pointer for p in info.value.problems] == ["/params/5"]
    assert "'lead' is required" in info.value.problems[0].message


@pytest.mark.parametrize(
    ("name", "value"),
    [("points", "20"), ("points", 2.5), ("points", True), ("ratio", "x"), ("wait", "3 days"),
     ("vip", "yes"), ("lead", "not-an-address"), ("team", 7)],
)
def test_values_are_type_checked(name: str, value: Any) -> None:
    given = {"lead": "a@b.example", name: value}
    with pytest.raises(BundleError) as info:
        resolve_flows(_bundle(PARAMS, NODES), given)
    assert [p.pointer for p in info.value.problems] == [f"/params/{name}"]


def test_placeholder_of_an_undeclared_param_is_a_bundle_problem() -> None:
    nodes = [{"id": "tag", "type": "action", "action": "crm.add_tag", "params": {"tag": "{{ params.nope }}"}}]
    problems = validate_bundle(_bundle([], nodes))
    assert [(p.pointer, p.message) for p in problems] == [
        ("/flows/0/nodes/0/params/tag", "params.nope is not a declared parameter")
    ]


def test_schema_problems_carry_pointers() -> None:
    document = _bundle([{"name": "n", "type": "integer", "default": "ten", "description": "d"}], NODES[:1])
    document["version"] = "one"
    pointers = {p.pointer for p in validate_bundle(document)}
    assert {"/version", "/params/0/default"} <= pointers


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [("integer", "10", 10), ("number", "2.5", 2.5), ("number", "3", 3), ("boolean", "yes", True),
     ("boolean", "false", False), ("duration", "P2D", "P2D"), ("string", "#sales", "#sales")],
)
def test_command_line_values_are_parsed_to_their_type(kind: str, text: str, value: Any) -> None:
    parsed = parse_param_text(kind, text)
    assert parsed == value and type(parsed) is type(value)


# ---------------------------------------------------------------- loading

def test_find_bundle_names_the_known_ones_when_unknown() -> None:
    assert find_bundle("review-request").name == "review-request"
    with pytest.raises(BundleError, match=r"known: .*ebook-lead-magnet"):
        find_bundle("no-such-bundle")


def test_bundles_from_an_extra_folder(tmp_path: Path) -> None:
    folder = tmp_path / "consultant" / "my-bundle"
    folder.mkdir(parents=True)
    document = _bundle(PARAMS, NODES) | {"name": "my-bundle"}
    (folder / "bundle.json").write_text(json.dumps(document), encoding="utf-8")
    names = [b.name for b in list_bundles([tmp_path / "consultant"])]
    assert "my-bundle" in names and "review-request" in names
    assert load_bundle(folder).resolve({"lead": "x@y.example"})[0]["key"] == "t"


def test_a_broken_bundle_file_is_a_bundle_error(tmp_path: Path) -> None:
    (tmp_path / "bundle.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="is not JSON"):
        load_bundle(tmp_path)


# ---------------------------------------------------------------- cases against triggers and goals

def _case_scope(case: dict[str, Any]) -> dict[str, Any]:
    subject = case.get("subject") or {}
    trigger = case.get("trigger") or {}
    scope: dict[str, Any] = {"trigger": trigger, "event": trigger, "vars": {}, "steps": {}}
    scope.update({kind: record for kind, record in subject.items() if record is not None})
    return scope


def _trigger_holds(trigger: dict[str, Any], case: dict[str, Any], tz: str) -> bool:
    """Whether the case's subject and trigger data would start a run through this trigger."""
    condition = {
        "event": trigger.get("where"),
        "segment": trigger.get("where"),
        "schedule": (trigger.get("for_each") or {}).get("where"),
        "date": {"field": f"{trigger.get('object')}.{trigger.get('field')}", "op": "exists"},
        "webhook": None,
        "manual": None,
    }[trigger["type"]]
    if not condition:
        return True
    start = to_datetime(case.get("start", "2026-03-02T09:00:00Z"))
    assert start is not None
    return evaluate(condition, {**_case_scope(case), "now": start}, Clock(start, ZoneInfo(tz)))


@pytest.mark.parametrize(
    ("bundle", "case_path"), CASES, ids=[f"{b.name}/{p.stem}" for b, p in CASES]
)
def test_case_is_started_only_as_its_triggers_say(bundle: Bundle, case_path: Path) -> None:
    """A case is a run the flow would really start: its subject and trigger data pass a trigger's
    `where` (an event's data, a segment's or a schedule's records, a date trigger's field). A case
    with `"expect": {"started": false}` checks the opposite: no trigger of the flow starts for it.
    `"event": TYPE` in a case narrows the triggers to the event triggers of that type."""
    case = _read(case_path)
    flow = {f["key"]: f for f in resolve_flows(bundle.document)}[case["flow"]]
    tz = (flow.get("settings") or {}).get("timezone", "UTC")
    triggers = [t for t in flow["triggers"] if case.get("event") in (None, t.get("event"))]
    started = any(_trigger_holds(trigger, case, tz) for trigger in triggers)
    assert started == _starts(case), (
        f"{flow['key']} {'does not start' if _starts(case) else 'starts'} for {case.get('subject')} "
        f"with trigger {case.get('trigger')}"
    )


def _goal_cases(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ends = [(c["expect"].get("status"), c["expect"].get("exit_reason")) for c in cases]
    return [case for case, end in zip(cases, ends, strict=True) if end == ("exited", "goal")]


@pytest.mark.parametrize(("bundle", "flow"), FLOWS, ids=FLOW_IDS)
def test_cases_reach_every_goal_exit(bundle: Bundle, flow: dict[str, Any]) -> None:
    """Each `exit_on` event ends a run in some case, and so does `exit_when` (through an event that is
    not itself an `exit_on` one): "stop once they book a call" is tested, not just declared."""
    settings = flow.get("settings") or {}
    goals = _goal_cases(_cases_of(bundle, flow["key"]))
    exit_types = {entry["event"] for entry in settings.get("exit_on") or []}
    missing = [
        kind for kind in sorted(exit_types)
        if not any(case["events"][-1]["type"] == kind for case in goals if case.get("events"))
    ]
    if settings.get("exit_when") and not any(
        case.get("events") and case["events"][-1]["type"] not in exit_types for case in goals
    ):
        missing.append("exit_when")
    assert missing == []


# ---------------------------------------------------------------- the gallery page

DOCS = Path(__file__).resolve().parents[2] / "docs" / "templates.md"


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.name)
def test_the_gallery_lists_the_bundle_at_its_current_version(bundle: Bundle) -> None:
    """docs/templates.md has a table row and a gallery section for the bundle, at the shipped version."""
    page = DOCS.read_text(encoding="utf-8")
    assert f"| [`{bundle.name}`](#{bundle.name}) | {bundle.version} |" in page
    assert f"\n### {bundle.name}\n\n**{bundle.title}** (version {bundle.version})." in page
    for key in bundle.flow_keys:
        assert f"\n**{key}** — " in page, key
