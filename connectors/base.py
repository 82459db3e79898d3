"""The connector interface: a connector is a declaration of actions; the editor draws forms from it alone.

A connector never imports `runtime` or `builder`: everything an action needs arrives in its
`ActionContext` (credentials already decrypted, the record store's API, an HTTP session, the clock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import requests

from connectors.errors import (  # re-exported: connectors import errors from here
    ConnectorError,
    Deferred,
    PermanentError,
    RetryableError,
)

__all__ = [
    "Action",
    "ActionContext",
    "Connector",
    "ConnectorError",
    "Deferred",
    "Delivery",
    "PermanentError",
    "Rate",
    "Records",
    "RetryableError",
    "RunInfo",
]


class Delivery(StrEnum):
    """What the runtime may do when a worker died between 'started' and 'done' of this action."""

    IDEMPOTENT = "idempotent"  # safe to call again with the same idempotency key
    AT_MOST_ONCE = "at_most_once"  # never repeated silently: marked 'unknown' for a person to resolve


class Records(Protocol):
    """The record store's API as actions see it (the simulator's in-memory store and the SQL store).

    `kind` is "contact" or "deal". Records are plain dicts with custom fields flat beside standard
    ones. Every change emits the matching event (DESIGN §7).
    """

    def get(self, kind: str, record_id: Any) -> dict[str, Any] | None: ...

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        """The contact with this e-mail address (compared case-insensitively), or None: who a mail is
        really going to, whoever the run is about."""
        ...

    def update(self, kind: str, record_id: Any, fields: Mapping[str, Any]) -> dict[str, Any]: ...

    def move_stage(self, deal_id: Any, stage: str, pipeline: str | None = None) -> dict[str, Any]: ...

    def add_tag(self, kind: str, record_id: Any, tag: str) -> dict[str, Any]: ...

    def add_score(self, kind: str, record_id: Any, points: float) -> dict[str, Any]: ...

    def add_note(self, kind: str, record_id: Any, text: str) -> dict[str, Any]: ...

    def create_task(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """fields: title, due_at (aware datetime), assignee (user id or None), notes, contact_id, deal_id."""
        ...

    def team_members(self, team: str) -> list[dict[str, Any]]:
        """Users of a team in a stable order: {"id", "name", "email", "away": bool, "weight": int}."""
        ...

    def open_load(self, user_id: Any) -> int:
        """How many open tasks and open deals the user owns (for least-loaded assignment)."""
        ...

    def next_counter(self, name: str) -> int:
        """Atomically increment and return a named counter (round-robin pointers)."""
        ...

    def enroll(self, flow_key: str, subject: Mapping[str, Any]) -> dict[str, Any]:
        """Start a run of another flow for `subject` ({"contact_id": ..} / {"deal_id": ..})."""
        ...

    def announce(self, event_type: str, subject: Mapping[str, Any], data: Mapping[str, Any],
                 event_id: str) -> None:
        """Emit an event about `subject` as if it had been posted to /api/events (once per `event_id`)."""
        ...


@dataclass(frozen=True)
class RunInfo:
    """What an action may know about the run it serves."""

    id: str
    flow: str
    version: int
    node: str
    subject: Mapping[str, Any] = field(default_factory=dict)  # {"contact_id": .., "deal_id": ..}


@dataclass
class ActionContext:
    """Everything an action receives besides its params."""

    run: RunInfo
    idempotency_key: str  # "run:node:visit"; stable across retries of the same visit
    credentials: Mapping[str, Any]  # decrypted; never log it
    records: Records
    http: requests.Session
    clock: Callable[[], datetime]
    logger: logging.Logger
    dry_run: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)  # instance settings: public_url, signing key...


@dataclass(frozen=True)
class Rate:
    """A budget: `limit` calls per `per_seconds`, per connector and credential (and `scope` param if set)."""

    limit: int
    per_seconds: float
    scope: str | None = None  # name of a param whose value splits the budget, e.g. "channel"


ActionFn = Callable[[ActionContext, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    """One operation of a connector, declared in JSON Schema 2020-12 (secrets marked writeOnly)."""

    key: str  # full key "connector.action", e.g. "mail.send"
    title: str
    params_schema: dict[str, Any]
    output_schema: dict[str, Any]
    example_output: dict[str, Any]
    delivery: Delivery
    run: ActionFn
    description: str = ""
    rate: Rate | None = None
    # True for actions that only touch the record store (crm.*, flow.enroll): the simulator runs them
    # for real against its in-memory store instead of returning the example output.
    local: bool = False
    needs_credential: bool = True

    @property
    def connector(self) -> str:
        return self.key.split(".", 1)[0]


@dataclass(frozen=True)
class Connector:
    """A provider integration: its credential form and its actions."""

    key: str
    title: str
    credentials_schema: dict[str, Any]
    actions: Mapping[str, Action]  # keyed by the full action key
    description: str = ""

    def __post_init__(self) -> None:
        for key, action in self.actions.items():
            if key != action.key or action.connector != self.key:
                raise ValueError(f"connector {self.key!r}: action {key!r} is misfiled")
