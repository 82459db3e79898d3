"""The tables (DESIGN §5 and §7): flows and versions, runs, steps, waits, events, the record store, auth.

Documents, run state and custom fields are JSON columns; datetimes are aware UTC in and out. The
schema itself is created by the Alembic migrations under `runtime/migrations/`, never by create_all
in production code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from runtime.db import JSONType, UTCDateTime, utcnow


def _json(**kw: Any) -> Any:
    return Field(sa_type=JSONType, **kw)  # type: ignore[call-overload]


def _when(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)  # type: ignore[call-overload]


# ---------------------------------------------------------------- flows


class Flow(SQLModel, table=True):
    """A flow by key: its draft document and the version new runs start on."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    name: str = ""
    document: dict[str, Any] = _json(default_factory=dict)
    published_version: int | None = None
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class FlowVersion(SQLModel, table=True):
    """An immutable published document."""

    __tablename__ = "flow_version"
    __table_args__ = (UniqueConstraint("flow_key", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    flow_key: str = Field(max_length=120, index=True)
    version: int
    document: dict[str, Any] = _json(default_factory=dict)
    hash: str = Field(max_length=64)
    author: str | None = None
    created_at: datetime = _when(default_factory=utcnow)


class TriggerIndex(SQLModel, table=True):
    """One trigger of a published version: event triggers are found by event type, never by a scan."""

    __tablename__ = "trigger_index"
    __table_args__ = (Index("ix_trigger_kind_event", "kind", "event_type"),)
    id: int | None = Field(default=None, primary_key=True)
    flow_key: str = Field(max_length=120, index=True)
    version: int
    position: int  # index of the trigger in the document's `triggers`
    kind: str = Field(max_length=20)
    event_type: str | None = Field(default=None, max_length=120)
    spec: dict[str, Any] = _json(default_factory=dict)


class TriggerMark(SQLModel, table=True):
    """What a time or state trigger already fired for: a date value, segment membership, a cron slot."""

    __tablename__ = "trigger_mark"
    __table_args__ = (UniqueConstraint("flow_key", "position", "subject_key", "value"),)
    id: int | None = Field(default=None, primary_key=True)
    flow_key: str = Field(max_length=120)
    position: int
    subject_key: str = Field(max_length=60)
    value: str = Field(max_length=60)
    at: datetime = _when(default_factory=utcnow)


# ---------------------------------------------------------------- runs


class Run(SQLModel, table=True):
    """A run: status and timer columns for the queries, the interpreter's full state as JSON."""

    __table_args__ = (
        Index("ix_run_status_wake", "status", "wake_at"),
        Index("ix_run_flow_subject", "flow_key", "subject_key"),
        Index("ix_run_subject_status", "subject_key", "status"),
        Index("ix_run_contact_status", "contact_id", "status"),
    )
    id: str = Field(primary_key=True, max_length=40)
    flow_key: str = Field(max_length=120)
    version: int
    subject_key: str = Field(default="", max_length=60)
    contact_id: int | None = None
    deal_id: int | None = None
    status: str = Field(max_length=20)
    cursor: str | None = Field(default=None, max_length=120)
    wake_at: datetime | None = _when(default=None)
    attempt: int = 0
    error: str | None = None
    exit_reason: str | None = None
    trigger_event: str | None = Field(default=None, max_length=120)
    state: dict[str, Any] = _json(default_factory=dict)
    lock_version: int = 0
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = _when(default=None)
    queued_at: datetime | None = _when(default=None)
    started_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)
    finished_at: datetime | None = _when(default=None)


class Step(SQLModel, table=True):
    """One visit of a node, journaled; an action's row is written `started` before the call."""

    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        Index("ix_step_run_key", "run_id", "idempotency_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=40)
    seq: int
    node: str = Field(max_length=120)
    type: str = Field(default="", max_length=20)
    status: str = Field(max_length=20)
    port: str | None = None
    target: str | None = None
    output: Any = _json(default=None, nullable=True)
    error: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=200)
    attempt: int = 0
    at: datetime = _when(default_factory=utcnow)
    finished_at: datetime | None = _when(default=None)


class Wait(SQLModel, table=True):
    """A run waiting for an event: matched by (event type, subject key) in one index lookup. A deal run
    has a row for its deal and one for the deal's contact."""

    __table_args__ = (Index("ix_wait_match", "event_type", "subject_key"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=40, index=True)
    event_type: str = Field(max_length=120)
    subject_key: str = Field(max_length=60)
    node: str = Field(max_length=120)
    expires_at: datetime | None = _when(default=None)


class Event(SQLModel, table=True):
    """An ingested event; the primary key is the event id, so a repeat is refused by the database."""

    id: str = Field(primary_key=True, max_length=120)
    type: str = Field(max_length=120, index=True)
    subject: dict[str, Any] = _json(default_factory=dict)
    data: dict[str, Any] = _json(default_factory=dict)
    contact_id: int | None = Field(default=None, index=True)
    deal_id: int | None = None
    at: datetime = _when(default_factory=utcnow)
    received_at: datetime = _when(default_factory=utcnow)
    processed_at: datetime | None = _when(default=None, index=True)


# ---------------------------------------------------------------- the record store


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, max_length=320, unique=True)
    phone: str | None = Field(default=None, max_length=40, unique=True)
    first_name: str | None = None
    last_name: str | None = None
    owner: int | None = None
    tags: list[str] = _json(default_factory=list)
    status: str | None = Field(default=None, max_length=60)
    score: float = 0
    subscribed: bool = True
    bounced: bool = False
    timezone: str | None = Field(default=None, max_length=60)
    last_contact_at: datetime | None = _when(default=None)
    custom: dict[str, Any] = _json(default_factory=dict)
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class Deal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(default=None, index=True)
    name: str | None = None
    pipeline: str | None = Field(default=None, max_length=120)
    stage: str | None = Field(default=None, max_length=120, index=True)
    stage_entered_at: datetime | None = _when(default=None)
    value: float | None = None
    currency: str | None = Field(default=None, max_length=3)
    owner: int | None = None
    tags: list[str] = _json(default_factory=list)
    score: float = 0
    custom: dict[str, Any] = _json(default_factory=dict)
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class Pipeline(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    name: str = ""


class Stage(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("pipeline_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(index=True)
    key: str = Field(max_length=120)
    name: str = ""
    position: int = 0


class Task(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    notes: str | None = None
    due_at: datetime | None = _when(default=None)
    assignee: int | None = Field(default=None, index=True)
    contact_id: int | None = Field(default=None, index=True)
    deal_id: int | None = None
    done: bool = False
    created_at: datetime = _when(default_factory=utcnow)
    completed_at: datetime | None = _when(default=None)


class Activity(SQLModel, table=True):
    """The timeline: every event about a record, and notes."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(default=None, index=True)
    deal_id: int | None = Field(default=None, index=True)
    type: str = Field(max_length=120)
    data: dict[str, Any] = _json(default_factory=dict)
    event_id: str | None = Field(default=None, max_length=120)
    at: datetime = _when(default_factory=utcnow)


class User(SQLModel, table=True):
    __tablename__ = "user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = ""
    role: str = Field(default="editor", max_length=20)
    password_hash: str | None = None
    away: bool = False
    created_at: datetime = _when(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """An API token or ingest key: only the SHA-256 of the secret is kept; `prefix` tells them apart."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="api", max_length=10)  # api | ingest
    name: str = Field(default="", max_length=120)
    role: str = Field(default="viewer", max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    user_id: int | None = Field(default=None, index=True)
    created_at: datetime = _when(default_factory=utcnow)
    last_used_at: datetime | None = _when(default=None)
    revoked_at: datetime | None = _when(default=None)


class FlowHook(SQLModel, table=True):
    """A flow's webhook URL token (looked up by hash) and optional signing secret, both Fernet-encrypted."""

    __tablename__ = "flow_hook"
    id: int | None = Field(default=None, primary_key=True)
    flow_key: str = Field(max_length=120, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    token_ciphertext: str
    secret_ciphertext: str | None = None
    created_at: datetime = _when(default_factory=utcnow)


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    name: str = ""


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(index=True)
    user_id: int
    weight: int = 1
    position: int = 0


class Credential(SQLModel, table=True):
    """A connector credential, Fernet ciphertext only."""

    __table_args__ = (UniqueConstraint("connector", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=60)
    name: str = Field(max_length=120)
    ciphertext: str
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class Counter(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=200)
    value: int = 0


class Lease(SQLModel, table=True):
    """Who may act (the scheduler) until when."""

    name: str = Field(primary_key=True, max_length=60)
    holder: str = Field(max_length=120)
    expires_at: datetime = _when()


metadata = SQLModel.metadata
