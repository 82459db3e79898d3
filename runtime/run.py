"""Run state and its checked status transitions (one function owns every status change)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from runtime.durations import iso, to_datetime
from runtime.errors import FlowrightError


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    EXITED = "exited"
    FAILED = "failed"
    CANCELLED = "cancelled"


ALLOWED: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.RUNNING: frozenset(
        {RunStatus.WAITING, RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
    RunStatus.WAITING: frozenset(
        {RunStatus.RUNNING, RunStatus.EXITED, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
    RunStatus.FAILED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED}),  # retry from the failed step
    RunStatus.COMPLETED: frozenset(),
    RunStatus.EXITED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}
LIVE = frozenset({RunStatus.RUNNING, RunStatus.WAITING})
FINISHED = frozenset({RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.CANCELLED})


class TransitionError(FlowrightError):
    """A status change the run's lifecycle does not allow (e.g. completed -> running)."""


class StepStatus(StrEnum):
    STARTED = "started"  # an effect is under way (journaled before the call)
    WAITING = "waiting"  # a delay or a wait_for is pending
    RETRYING = "retrying"  # a retryable failure; the timer will try again
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"  # an at-most-once effect whose outcome a dead worker took with it
    SKIPPED = "skipped"  # the run ended (goal, cancel) while this step was pending


@dataclass
class RunState:
    """Everything the interpreter needs to continue a run; persisted after each step."""

    id: str
    flow: str
    version: int
    subject: dict[str, Any]
    trigger: dict[str, Any]
    started_at: datetime
    cursor: str | None = None
    status: RunStatus = RunStatus.RUNNING
    vars: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, Any] = field(default_factory=dict)
    seq: int = 0  # completed node visits; the current visit is seq + 1
    wake_at: datetime | None = None
    wait: dict[str, Any] | None = None  # {"node", "kind": delay|wait_for|retry, "since", "event", "where"}
    attempt: int = 0  # failed attempts of the current action visit
    exit_reason: str | None = None
    error: str | None = None

    @property
    def visit(self) -> int:
        return self.seq + 1

    def idempotency_key(self, node_id: str) -> str:
        return f"{self.id}:{node_id}:{self.visit}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["started_at"] = iso(self.started_at)
        data["wake_at"] = iso(self.wake_at) if self.wake_at else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        values = dict(data)
        values["status"] = RunStatus(values.get("status", "running"))
        values["started_at"] = to_datetime(values["started_at"])
        values["wake_at"] = to_datetime(values["wake_at"]) if values.get("wake_at") else None
        return cls(**values)


@dataclass
class StepRecord:
    """One visit of a node as journaled: keyed by (run_id, seq); saved again when it changes."""

    run_id: str
    seq: int
    node: str
    type: str
    at: datetime
    status: StepStatus
    finished_at: datetime | None = None
    port: str | None = None
    target: str | None = None
    output: Any = None
    error: str | None = None
    idempotency_key: str | None = None
    attempt: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["at"] = iso(self.at)
        data["finished_at"] = iso(self.finished_at) if self.finished_at else None
        return data


def transition(run: RunState, to: RunStatus) -> None:
    """Change a run's status, refusing changes its lifecycle does not allow."""
    if to == run.status:
        return
    if to not in ALLOWED[run.status]:
        raise TransitionError(f"run {run.id}: cannot go from {run.status} to {to}")
    run.status = to
