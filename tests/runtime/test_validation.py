"""The validator: schema errors and every semantic check of DESIGN §2, all at once, never raising."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.registry import default_registry
from runtime.errors import FlowInvalid
from runtime.validation import load_flow, validate_flow, validator_for

REGISTRY = default_registry()

GOOD: dict[str, Any] = {
    "format": "flowright/v1",
    "key": "review-request",
    "name": "Ask for a review after delivery",
    "subject": "deal",
    "triggers": [
        {
            "type": "event",
            "event": "deal.stage_changed",
            "where": {"field": "event.to", "op": "eq", "value": "delivered"},
        }
    ],
    "start": "wait_a_day",
    "settings": {
        "timezone": "Europe/Vilnius",
        "reenroll": "after_exit",
        "exit_when": {"field": "deal.stage", "op": "in", "value": ["lost"]},
        "exit_on": [{"event": "deal.deleted"}],
    },
    "nodes": [
        {
            "id": "wait_a_day",
            "type": "delay",
            "duration": "P1D",
            "window": {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00"},
            "next": "ask",
        },
        {
            "id": "ask",
            "type": "action",
            "action": "mail.send",
            "params": {
                "to": "{{ contact.email }}",
                "subject": "How did we do, {{ contact.first_name }}?",
                "body": "Tell us",
            },
            "retry": {"max_attempts": 5, "backoff": "PT1M"},
            "next": "rated",
            "on_error": "alert",
        },
        {
            "id": "rated",
            "type": "wait_for",
            "event": "review.received",
            "timeout": "P7D",
            "next": "good",
            "on_timeout": "nudge",
        },
        {
            "id": "good",
            "type": "branch",
            "rules": [{"when": {"field": "steps.rated.rating", "op": "gte", "value": 4}, "next": "thanks"}],
            "else": "sorry",
        },
        {
            "id": "thanks",
            "type": "action",
            "action": "mail.send",
            "params": {"to": "{{ contact.email }}", "subject": "Thanks", "body": "Thank you"},
        },
        {
            "id": "sorry",
            "type": "action",
            "action": "slack.post",
            "params": {"text": "Low rating on {{ deal.name }}"},
        },
        {
            "id": "nudge",
            "type": "action",
            "action": "sms.send",
            "params": {"to": "{{ contact.phone }}", "body": "A minute for a review?"},
        },
        {"id": "alert", "type": "action", "action": "slack.post", "params": {"text": "Mail failed"}},
    ],
    "ui": {"positions": {"ask": {"x": 240, "y": 80}}},
}


def broken(change: str, value: Any) -> dict[str, Any]:
    """GOOD with the value at a JSON pointer replaced (or removed when value is REMOVE)."""
    doc = copy.deepcopy(GOOD)
    *parents, last = change.strip("/").split("/")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is REMOVE:
        del target[last]
    else:
        target[last] = value
    return doc


REMOVE = object()


def problems(doc: Any) -> list[tuple[str, str, str]]:
    return [(p.pointer, p.message, p.severity) for p in validate_flow(doc, REGISTRY)]


def errors(doc: Any) -> dict[str, str]:
    return {p: m for p, m, s in problems(doc) if s == "error"}


def test_the_design_example_is_valid() -> None:
    assert problems(GOOD) == []
    assert load_flow(GOOD, REGISTRY).start == "wait_a_day"


def test_the_compiled_validator_is_cached() -> None:
    assert validator_for("flow") is validator_for("flow")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"until": "2026-01-01"}, [("/nodes/0/until", "'until' cannot be used together with 'duration'")]),
        (
            {"until": "2026-01-01", "offset": "-P1D"},
            [
                ("/nodes/0/until", "'until' cannot be used together with 'duration'"),
                ("/nodes/0/offset", "'offset' cannot be used together with 'duration'"),
            ],
        ),
    ],
)
def test_a_field_that_cannot_go_with_duration_is_named_where_it_is(
    extra: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    """The `false` schemas under dependentSchemas/duration: the message names the field and points at it
    (it said "'properties' cannot be used together with 'duration'" at the node)."""
    doc = {"format": "flowright/v1", "key": "k", "name": "n", "subject": "none",
           "triggers": [{"type": "manual"}], "start": "a",
           "nodes": [{"id": "a", "type": "delay", "duration": "P1D", **extra}]}
    assert [(p, m) for p, m, s in problems(doc) if s == "error"] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e400", "must be a whole number from 1 to 1000000, not a number this large"),
        ("-1e400", "must be a whole number from 1 to 1000000, not a number this far below 0"),
        ("NaN", "must be a whole number from 1 to 1000000, not NaN"),
        ("1.5", "must be a whole number, not 1.5"),
        ("1e20", "must be at most 1000000, not 1e+20"),
        ('"50"', "must be a whole number, not a string"),
    ],
)
def test_max_steps_that_is_no_usable_whole_number_gets_one_sensible_message(text: str, message: str) -> None:
    """json reads 1e400 as infinity: it said 'must be a whole number, not a number' (and again as a bound)."""
    doc = broken("/settings/max_steps", json.loads(text))
    assert [(p, m) for p, m, s in problems(doc)] == [("/settings/max_steps", message)]


def test_offset_with_duration_and_without_until_says_both() -> None:
    doc = broken("/nodes/0/offset", "-P1D")
    found = [(p, m) for p, m, s in problems(doc) if s == "error"]
    assert found == [
        ("/nodes/0/offset", "'offset' cannot be used together with 'duration'"),
        ("/nodes/0/offset", "'offset' can only be used together with 'until'"),
    ]


# (pointer changed, new value, pointer reported, words in the message)
SEMANTIC = [
    ("/start", "wait_a_dya", "/start", "no node has id 'wait_a_dya'; did you mean 'wait_a_day'"),
    ("/nodes/0/next", "akk", "/nodes/0/next", "no node has id 'akk'"),
    ("/nodes/3/else", "nowhere", "/nodes/3/else", "no node has id 'nowhere'"),
    ("/nodes/2/on_timeout", "nope", "/nodes/2/on_timeout", "no node has id 'nope'"),
    ("/nodes/1/id", "wait_a_day", "/nodes/1/id", "duplicate node id 'wait_a_day'"),
    (
        "/nodes/1/action",
        "mail.sned",
        "/nodes/1/action",
        "unknown action 'mail.sned'; did you mean 'mail.send'",
    ),
    (
        "/nodes/6/params",
        {"to": "not a phone number at all"},
        "/nodes/6/params",
        "missing required property 'body'",
    ),
    ("/nodes/1/params/to", "{{ contact.email ", "/nodes/1/params/to", "template syntax error"),
    (
        "/nodes/1/params/subject",
        "Hi {{ contcat.first_name }}",
        "/nodes/1/params/subject",
        "unknown name 'contcat'",
    ),
    ("/nodes/0/duration", "-P1D", "/nodes/0/duration", "negative"),
    ("/nodes/0/duration", "P1X", "/nodes/0/duration", "is not an ISO-8601 duration"),
    ("/nodes/2/timeout", "-PT5M", "/nodes/2/timeout", "negative"),
    (
        "/nodes/3/rules/0/when/field",
        "steps.ratd.rating",
        "/nodes/3/rules/0/when/field",
        "no node has id 'ratd'; did you mean 'rated'",
    ),
    ("/nodes/3/rules/0/when/field", "steps.good.x", "/nodes/3/rules/0/when/field", "is a branch node"),
    (
        "/nodes/3/rules/0/when/field",
        "event.rating",
        "/nodes/3/rules/0/when/field",
        "event.* is only available in the where of a trigger",
    ),
    ("/nodes/3/rules/0/when/field", "run.owner", "/nodes/3/rules/0/when/field", "run.owner does not exist"),
    ("/nodes/3/rules/0/when/op", "in", "/nodes/3/rules/0/when/value", "needs a list"),
    ("/nodes/3/rules/0/when/op", "within", "/nodes/3/rules/0/when/value", "needs an ISO-8601 duration"),
    ("/nodes/3/rules/0/when/op", "before", "/nodes/3/rules/0/when/value", "needs an ISO date or datetime"),
    (
        "/nodes/3/rules/0/when",
        {"field": "contact.email", "op": "matches", "value": "(["},
        "/nodes/3/rules/0/when/value",
        "not a valid regular expression",
    ),
    (
        "/nodes/3/rules/0/when",
        {"field": "contact.email", "op": "eq"},
        "/nodes/3/rules/0/when",
        "needs a 'value'",
    ),
    ("/settings/timezone", "Europe/Vilnus", "/settings/timezone", "not an IANA timezone"),
    ("/settings/exit_when/field", "event.to", "/settings/exit_when/field", "event.* is only available"),
    ("/triggers/0/where/field", "steps.ask.id", "/triggers/0/where/field", "no run exists yet"),
    ("/nodes/0/until", "next tuesday", "/nodes/0/until", "not an ISO date or datetime"),
    ("/nodes/0/window/to", "09:00", "/nodes/0/window", "opens and closes at the same time"),
    ("/triggers/0", {"type": "schedule", "cron": "61 9 * * *"}, "/triggers/0/cron", "crontab"),
    (
        "/triggers/0",
        {"type": "date", "object": "contact", "field": "birthday"},
        "/triggers/0/object",
        "runs of this flow are about a deal",
    ),
]


@pytest.mark.parametrize(("change", "value", "where", "words"), SEMANTIC, ids=[c[3][:40] for c in SEMANTIC])
def test_each_semantic_problem_is_named_at_its_pointer(
    change: str, value: Any, where: str, words: str
) -> None:
    doc = broken(change, value)
    if change == "/nodes/0/until":
        del doc["nodes"][0]["duration"]
    found = errors(doc)
    assert where in found, problems(doc)
    assert words in found[where]


def test_unreachable_node_is_an_error() -> None:
    doc = copy.deepcopy(GOOD)
    doc["nodes"].append({"id": "orphan", "type": "exit", "reason": "never"})
    assert errors(doc) == {
        "/nodes/8": "node 'orphan' is unreachable: no path from start 'wait_a_day' leads to it"
    }


def test_deal_fields_in_a_contact_flow_and_contact_fields_without_subject() -> None:
    doc = broken("/subject", "contact")
    assert "the flow's subject is 'contact'" in errors(doc)["/settings/exit_when/field"]
    assert "the flow's subject is 'contact'" in errors(doc)["/nodes/5/params/text"]
    doc = broken("/subject", "none")
    assert "subject is 'none'" in errors(doc)["/nodes/1/params/to"]


def test_a_loop_without_pause_is_a_warning_only() -> None:
    doc = copy.deepcopy(GOOD)
    doc["nodes"][7]["next"] = "good"  # alert -> good, good -> else sorry ... no loop yet
    doc["nodes"][5]["next"] = "alert"  # sorry -> alert -> good -> sorry: no delay or wait in it
    found = problems(doc)
    warnings = [(p, m) for p, m, s in found if s == "warning"]
    assert [p for p, _, s in found if s == "error"] == []
    assert warnings == [
        (
            "/nodes/3",
            "the loop good -> sorry -> alert -> good has no delay or wait_for in it; "
            "a run going round it will hit max_steps and fail",
        )
    ]
    load_flow(doc, REGISTRY)  # warnings do not stop a flow from loading


def test_a_loop_through_a_delay_is_fine() -> None:
    doc = copy.deepcopy(GOOD)
    doc["nodes"][7]["next"] = "wait_a_day"
    assert problems(doc) == []


def test_every_problem_is_reported_at_once() -> None:
    doc = copy.deepcopy(GOOD)
    doc["start"] = "missing"
    doc["nodes"][0]["duration"] = "soon"
    doc["nodes"][1]["action"] = "mail.nope"
    doc["nodes"][2]["surprise"] = 1
    doc["settings"]["reenroll"] = "sometimes"
    found = errors(doc)
    assert {
        "/start",
        "/nodes/0/duration",
        "/nodes/1/action",
        "/nodes/2/surprise",
        "/settings/reenroll",
    } <= set(found)
    assert found["/nodes/2/surprise"] == "unknown property 'surprise'"
    assert "'sometimes' is not one of: never, after_exit, always" in found["/settings/reenroll"].replace(
        '"', "'"
    )


def test_templated_params_are_checked_for_syntax_not_type() -> None:
    doc = copy.deepcopy(GOOD)
    doc["nodes"][1]["params"]["to"] = "{{ contact.email }}"  # a string schema wants an email: skipped
    doc["nodes"].append(
        {"id": "score", "type": "action", "action": "crm.add_score", "params": {"points": "{{ 5 * 2 }}"}}
    )
    doc["nodes"][4]["next"] = "score"
    assert errors(doc) == {}
    doc["nodes"][-1]["params"]["points"] = "ten"
    assert "/nodes/8/params/points" in errors(doc)


def test_load_flow_raises_with_every_error() -> None:
    doc = broken("/start", "nowhere")
    doc["nodes"][1]["action"] = "mail.nope"
    with pytest.raises(FlowInvalid) as caught:
        load_flow(doc, REGISTRY)
    assert {p.pointer for p in caught.value.problems} == {"/start", "/nodes/1/action"}


@pytest.mark.parametrize(
    "doc",
    [
        None,
        42,
        "flow",
        [],
        {},
        {"nodes": 3},
        {"nodes": [1, None, {"id": 5}]},
        {"format": "flowright/v1", "nodes": [{"type": "branch", "rules": "x"}]},
    ],
)
def test_odd_documents_get_problems_not_exceptions(doc: Any) -> None:
    found = problems(doc)
    assert found and all(s == "error" for _, _, s in found)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_gets_problems_never_an_exception(doc: Any) -> None:
    found = validate_flow(doc, REGISTRY)
    assert all(isinstance(p.pointer, str) and p.message for p in found)
    assert not any("could not be checked completely" in p.message for p in found)


def _pointers(value: Any, prefix: str = "") -> list[str]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _pointers(v, f"{prefix}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _pointers(v, f"{prefix}/{i}")
    return found


POINTERS = _pointers(GOOD)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(POINTERS), json_values)
def test_a_valid_flow_with_any_part_replaced_never_raises(where: str, value: Any) -> None:
    doc = broken(where, value)
    found = validate_flow(doc, REGISTRY)
    assert not any("could not be checked completely" in p.message for p in found)
    json.dumps([p.message for p in found])


def test_dict_methods_called_in_templates_are_not_fields() -> None:
    doc = copy.deepcopy(GOOD)
    doc["nodes"][4]["params"]["subject"] = (
        "Hi {{ contact.get('first_name', 'there') }} ({{ vars.get('n', 0) + 1 }})"
    )
    assert problems(doc) == []
    doc["nodes"][4]["params"]["subject"] = "{{ vars.nope }}"
    assert [m for _, m, s in problems(doc) if s == "warning"] == [
        "template '{{ vars.nope }}': vars.nope is never set by a set node"
    ]
