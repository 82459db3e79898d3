"""The connector registry: an object built by the app factory, the worker and the CLI, never a global.

It holds the built-ins and every connector published under the entry-point group
`flowright.connectors` (an entry point names a `Connector` or a zero-argument callable returning one).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points

from connectors.base import Action, Connector
from connectors.errors import DuplicateConnectorError, UnknownConnectorError

ENTRY_POINT_GROUP = "flowright.connectors"

# Modules that expose `CONNECTOR`; one per built-in connector.
BUILTIN_MODULES: tuple[str, ...] = (
    "connectors.mail",
    "connectors.sms",
    "connectors.slack",
    "connectors.reviews",
    "connectors.accounting",
    "connectors.web",
    "connectors.webhook",
    "connectors.crm",
    "connectors.flow",
)


class ConnectorRegistry:
    """Connectors and their actions by key; a duplicate key raises, an unknown one lists the known."""

    def __init__(self, connectors: Iterable[Connector] = ()) -> None:
        self._connectors: dict[str, Connector] = {}
        self._actions: dict[str, Action] = {}
        for connector in connectors:
            self.register(connector)

    def register(self, connector: Connector) -> None:
        if connector.key in self._connectors:
            raise DuplicateConnectorError(f"connector {connector.key!r} is registered twice")
        for key in connector.actions:
            if key in self._actions:
                raise DuplicateConnectorError(f"action {key!r} is registered twice")
        self._connectors[connector.key] = connector
        self._actions.update(connector.actions)

    def connector(self, key: str) -> Connector:
        try:
            return self._connectors[key]
        except KeyError:
            known = ", ".join(sorted(self._connectors)) or "none"
            raise UnknownConnectorError(f"unknown connector {key!r}; known connectors: {known}") from None

    def action(self, key: str) -> Action:
        try:
            return self._actions[key]
        except KeyError:
            known = ", ".join(sorted(self._actions)) or "none"
            raise UnknownConnectorError(f"unknown action {key!r}; known actions: {known}") from None

    def has_action(self, key: str) -> bool:
        return key in self._actions

    def __iter__(self) -> Iterator[Connector]:
        return iter(self._connectors.values())

    def actions(self) -> list[Action]:
        return list(self._actions.values())


def builtin_connectors() -> list[Connector]:
    """Import every built-in connector module that exists and return its `CONNECTOR`."""
    found: list[Connector] = []
    for name in BUILTIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # not written yet; anything else missing is a real error
                continue
            raise
        found.append(module.CONNECTOR)
    return found


def entry_point_connectors() -> list[Connector]:
    found: list[Connector] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        connector = obj() if callable(obj) and not isinstance(obj, Connector) else obj
        if not isinstance(connector, Connector):
            raise TypeError(f"entry point {ep.name!r} ({ep.value}) did not give a Connector")
        found.append(connector)
    return found


def default_registry(*, plugins: bool = True) -> ConnectorRegistry:
    """The built-ins plus (unless `plugins` is False) every installed plug-in connector."""
    return ConnectorRegistry([*builtin_connectors(), *(entry_point_connectors() if plugins else [])])
