"""The connector catalog as the editor draws forms from it: every connector and action declaration."""

from __future__ import annotations

from typing import Any

from connectors.base import Action, Connector
from connectors.registry import ConnectorRegistry
from runtime.queries.errors import NotFound


def action_entry(action: Action) -> dict[str, Any]:
    rate = action.rate
    return {
        "key": action.key,
        "connector": action.connector,
        "title": action.title,
        "description": action.description,
        "params_schema": action.params_schema,
        "output_schema": action.output_schema,
        "example_output": action.example_output,
        "delivery": str(action.delivery),
        "needs_credential": action.needs_credential,
        "rate": {"limit": rate.limit, "per_seconds": rate.per_seconds, "scope": rate.scope} if rate else None,
    }


def connector_entry(connector: Connector) -> dict[str, Any]:
    return {
        "key": connector.key,
        "title": connector.title,
        "description": connector.description,
        "credentials_schema": connector.credentials_schema,
        "actions": [action_entry(a) for a in connector.actions.values()],
    }


def connectors(registry: ConnectorRegistry) -> list[dict[str, Any]]:
    return [connector_entry(c) for c in sorted(registry, key=lambda c: c.key)]


def connector(registry: ConnectorRegistry, key: str) -> dict[str, Any]:
    known = {c.key: c for c in registry}
    if key not in known:
        raise NotFound(f"unknown connector {key!r}; known connectors: {', '.join(sorted(known))}")
    return connector_entry(known[key])


def action(registry: ConnectorRegistry, key: str) -> dict[str, Any]:
    if not registry.has_action(key):
        known = ", ".join(sorted(a.key for a in registry.actions()))
        raise NotFound(f"unknown action {key!r}; known actions: {known}")
    return action_entry(registry.action(key))
