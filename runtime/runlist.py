"""Runs for the API: filtered listing with cursor pagination (newest first), and bulk retry of failed
runs. One-run operations (show, retry, cancel) are in runtime.operations."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from runtime import operations
from runtime.durations import to_datetime
from runtime.models import Run
from runtime.run import RunStatus
from runtime.services import Services

MAX_PAGE = 500
MAX_BULK = 10_000


class BadCursor(ValueError):
    """A cursor this server did not make."""


@dataclass(frozen=True)
class RunFilter:
    flow: str | None = None
    version: int | None = None
    status: str | None = None
    subject: str | None = None  # "contact:7", "deal:3", or a contact/deal id key as stored
    contact_id: int | None = None
    deal_id: int | None = None
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before

    def clauses(self) -> list[Any]:
        found: list[Any] = []
        pairs = (
            (Run.flow_key, self.flow), (Run.version, self.version), (Run.status, self.status),
            (Run.subject_key, self.subject), (Run.contact_id, self.contact_id), (Run.deal_id, self.deal_id),
        )
        for column, value in pairs:
            if value is not None:
                found.append(column == value)
        if self.since is not None:
            found.append(Run.started_at >= self.since)
        if self.until is not None:
            found.append(Run.started_at < self.until)
        return found


def encode_cursor(started_at: datetime, run_id: str) -> str:
    return base64.urlsafe_b64encode(f"{started_at.isoformat()}|{run_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("cursor: not a cursor from a previous page") from None
    moment, _, run_id = text.partition("|")
    at = to_datetime(moment) if moment else None
    if at is None or not run_id:
        raise BadCursor("cursor: not a cursor from a previous page")
    return at, run_id


def page(
    services: Services, filters: RunFilter, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of run summaries, newest first, and the cursor of the next page (None at the end)."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Run).where(*filters.clauses()).order_by(Run.started_at.desc(), Run.id.desc())
    if cursor:
        at, run_id = decode_cursor(cursor)
        query = query.where(or_(Run.started_at < at, and_(Run.started_at == at, Run.id < run_id)))
    with Session(services.engine) as session:
        rows = list(session.execute(query.limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    following = encode_cursor(rows[-1].started_at, rows[-1].id) if more and rows else None
    return [operations.run_summary(r) for r in rows], following


def retry_failed(services: Services, filters: RunFilter, limit: int = MAX_BULK) -> dict[str, Any]:
    """Retry every failed run that matches (from its failed step); runs a worker holds are reported."""
    failed = RunFilter(**{**filters.__dict__, "status": str(RunStatus.FAILED)})
    with Session(services.engine) as session:
        ids = list(session.execute(select(Run.id).where(*failed.clauses()).order_by(Run.started_at)
                                   .limit(limit)).scalars())
    retried, skipped = [], []
    for run_id in ids:
        try:
            operations.retry(services, run_id)
            retried.append(run_id)
        except (operations.RunBusy, ValueError, LookupError) as exc:
            skipped.append({"id": run_id, "reason": str(exc)})
    return {"matched": len(ids), "retried": retried, "skipped": skipped}
