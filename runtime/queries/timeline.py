"""A record's timeline: every event about a contact or deal (and its notes), newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from runtime.models import Activity
from runtime.queries import paging
from runtime.queries.errors import Invalid, NotFound
from runtime.queries.records import KINDS, find_row
from runtime.records import as_dict
from runtime.services import Services

COLUMNS = {"contact": col(Activity.contact_id), "deal": col(Activity.deal_id)}


def timeline(
    services: Services, kind: str, key: Any, *, limit: Any = None, cursor: str | None = None
) -> paging.Page:
    """Activities of a contact (by id, e-mail or phone) or a deal, newest first, a page at a time."""
    if kind not in COLUMNS:
        raise NotFound(f"{kind} records have no timeline; contacts and deals do")
    size = paging.check_limit(limit)
    before = paging.decode(cursor)
    if before is not None and not isinstance(before, int):
        raise Invalid.at("/cursor", paging.BAD_CURSOR)
    with Session(services.engine) as session:
        row = find_row(session, KINDS[kind], key)
        if row is None:
            raise NotFound(f"there is no {kind} {key}")
        query = (
            select(Activity).where(COLUMNS[kind] == row.id).order_by(col(Activity.id).desc()).limit(size + 1)
        )
        if before is not None:
            query = query.where(col(Activity.id) < before)
        rows = list(session.execute(query).scalars())
    page = paging.Page([as_dict(a) for a in rows[:size]])
    if len(rows) > size:
        page.next_cursor = paging.encode(rows[size - 1].id)
    return page
