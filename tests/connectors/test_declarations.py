"""Every built-in action is a complete declaration the editor and the validator can rely on."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from connectors.base import Action, Delivery
from connectors.registry import default_registry

REGISTRY = default_registry(plugins=False)
ACTIONS = {a.key: a for a in REGISTRY.actions()}

EXPECTED = {
    "mail.send", "sms.send", "slack.post", "reviews.request", "accounting.find_or_create_customer",
    "accounting.create_invoice", "accounting.record_payment", "http.request", "webhook.send",
    "crm.update", "crm.move_stage", "crm.create_task", "crm.assign_owner", "crm.add_tag",
    "crm.add_score", "crm.add_note", "flow.enroll", "flow.emit",
}

# DESIGN §6: the param names are the contract.
CONTRACT_PARAMS = {
    "mail.send": {"to", "subject", "body", "html", "from", "reply_to"},
    "sms.send": {"to", "body", "from"},
    "slack.post": {"text", "channel", "blocks"},
    "reviews.request": {"provider", "to", "name", "reference"},
    "accounting.find_or_create_customer": {"name", "email"},
    "accounting.create_invoice": {"customer", "lines", "currency", "due_in", "reference"},
    "accounting.record_payment": {"invoice", "amount", "date"},
    "http.request": {"method", "url", "headers", "json", "body", "timeout"},
    "webhook.send": {"url", "payload"},
    "crm.update": {"fields"},
    "crm.move_stage": {"stage", "pipeline"},
    "crm.create_task": {"title", "due_in", "due_at", "assignee", "notes"},
    "crm.assign_owner": {"team", "strategy"},
    "crm.add_tag": {"tag"},
    "crm.add_score": {"points"},
    "crm.add_note": {"text"},
    "flow.enroll": {"flow"},
    "flow.emit": {"event", "data"},
}


def test_every_builtin_action_is_registered() -> None:
    assert set(ACTIONS) == EXPECTED


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_schemas_are_valid_and_closed(key: str) -> None:
    action = ACTIONS[key]
    for schema in (action.params_schema, action.output_schema):
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"].endswith("2020-12/schema")
        assert schema["additionalProperties"] is False
    assert CONTRACT_PARAMS[key] <= set(action.params_schema["properties"])
    assert action.title and action.description
    assert isinstance(action.delivery, Delivery)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_example_output_matches_output_schema(key: str) -> None:
    action = ACTIONS[key]
    errors = list(Draft202012Validator(action.output_schema).iter_errors(action.example_output))
    assert not errors, [e.message for e in errors]


def test_local_actions_need_no_credential() -> None:
    local = {k for k, a in ACTIONS.items() if a.local}
    assert local == {k for k in EXPECTED if k.startswith("crm.")} | {"flow.enroll", "flow.emit"}
    for key in [*local, "http.request"]:
        assert ACTIONS[key].needs_credential is False


def _write_only(schema: dict[str, Any]) -> set[str]:
    found = set()
    for name, prop in schema.get("properties", {}).items():
        if prop.get("writeOnly"):
            found.add(name)
        found |= {f"{name}.{n}" for n in _write_only(prop)}
    return found


def test_secrets_are_write_only() -> None:
    secrets = {c.key: _write_only(c.credentials_schema) for c in REGISTRY}
    assert secrets["mail"] == {"password"}
    assert secrets["sms"] == {"auth_token", "api_key_secret"}
    assert secrets["slack"] == {"webhook_url", "bot_token"}
    assert secrets["accounting"] == {"access_token"}
    assert secrets["webhook"] == {"signing_secret"}
    assert {"trustpilot_api_secret", "smtp.password"} <= secrets["reviews"]
    for connector in REGISTRY:
        Draft202012Validator.check_schema(connector.credentials_schema)


def test_at_most_once_where_the_provider_cannot_deduplicate() -> None:
    for key in ("mail.send", "sms.send", "slack.post", "reviews.request"):
        assert ACTIONS[key].delivery is Delivery.AT_MOST_ONCE
    for key in ("accounting.create_invoice", "accounting.record_payment", "crm.update", "crm.add_tag"):
        assert ACTIONS[key].delivery is Delivery.IDEMPOTENT


def test_actions_are_actions() -> None:
    assert all(isinstance(a, Action) for a in ACTIONS.values())
    assert ACTIONS["slack.post"].rate is not None and ACTIONS["slack.post"].rate.scope == "channel"


# Where each provider-facing connector is reached: credential fields, so tests and on-premise installs
# can point it at another server (the real providers' addresses are only the defaults).
ENDPOINT_FIELDS = {
    "mail": {"host", "port", "security"},
    "sms": {"base_url"},
    "slack": {"base_url", "webhook_url"},
    "reviews": {"trustpilot_base_url", "trustpilot_auth_url", "smtp"},
    "accounting": {"base_url"},
}


@pytest.mark.parametrize(("connector", "fields"), sorted(ENDPOINT_FIELDS.items()))
def test_provider_endpoints_are_credential_settings(connector: str, fields: set[str]) -> None:
    schema = REGISTRY.connector(connector).credentials_schema
    assert fields <= set(schema["properties"])
    for name in fields & {"base_url", "trustpilot_base_url", "trustpilot_auth_url"}:
        assert schema["properties"][name].get("writeOnly") is not True  # an address, not a secret
