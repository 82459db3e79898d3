"""Reading runs: the list and one run with its steps. Only the models are needed, so the CLI's
`runs list` / `runs show` load no more than this (runtime.operations wraps these for Services)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from runtime.models import Run, Step
from runtime.records import as_dict

SUMMARY = (
    "id",
    "flow_key",
    "version",
    "status",
    "cursor",
    "subject_key",
    "wake_at",
    "error",
    "exit_reason",
    "started_at",
    "updated_at",
    "finished_at",
)


def list_runs(
    engine: Engine, *, flow: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    with Session(engine) as session:
        query = select(Run).order_by(Run.started_at.desc()).limit(limit)
        if flow:
            query = query.where(Run.flow_key == flow)
        if status:
            query = query.where(Run.status == status)
        return [run_summary(r) for r in session.execute(query).scalars()]


def show_run(engine: Engine, run_id: str) -> dict[str, Any]:
    with Session(engine) as session:
        row = session.get(Run, run_id)
        if row is None:
            raise LookupError(f"there is no run {run_id}")
        steps = session.execute(select(Step).where(Step.run_id == run_id).order_by(Step.seq)).scalars()
        state = row.state
        return {
            **run_summary(row),
            "vars": state.get("vars"),
            "trigger": state.get("trigger"),
            "subject": state.get("subject"),
            "wait": state.get("wait"),
            "steps": [as_dict(s) for s in steps],
        }


def run_summary(row: Run) -> dict[str, Any]:
    """The columns of a run list row."""
    data = as_dict(row)
    return {k: data.get(k) for k in SUMMARY}
