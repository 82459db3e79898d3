"""Run statistics from the run and step journal: per flow version and per node (entered, completed,
failed, waiting now) and the conversion between two nodes, over a time range.

A node's counts cover visits that began in the range (`step.at`); a version's run counts cover runs
started in the range; "waiting now" is the present, whatever the range. A funnel counts the runs
that visited A in the range and visited B at any later point of the same run.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from runtime.durations import RANGE_RULE, in_range, iso, to_datetime
from runtime.models import Flow, FlowVersion, Run, Step
from runtime.queries.errors import Invalid, NotFound
from runtime.run import RunStatus
from runtime.services import Services

FAILED_STEPS = ("failed", "unknown")


def parse_range(since: Any, until: Any) -> tuple[datetime | None, datetime | None]:
    """Aware datetimes from ISO strings (None: open end); `since` must come before `until`."""
    bounds: list[datetime | None] = []
    for name, value in (("since", since), ("until", until)):
        if value is None or value == "":
            bounds.append(None)
            continue
        moment = to_datetime(value) if isinstance(value, str | datetime) else None
        if moment is None:
            raise Invalid.at(f"/{name}", "must be an ISO-8601 datetime such as 2026-03-01T00:00:00Z")
        if not in_range(moment):
            raise Invalid.at(f"/{name}", RANGE_RULE)
        bounds.append(moment)
    start, end = bounds
    if start is not None and end is not None and start >= end:
        raise Invalid.at("/until", "until must be later than since")
    return start, end


def _versions(session: Session, key: str, version: int | None) -> list[FlowVersion]:
    flow = session.execute(select(Flow).where(col(Flow.key) == key)).scalars().first()
    query = select(FlowVersion).where(col(FlowVersion.flow_key) == key).order_by(col(FlowVersion.version))
    if version is not None:
        query = query.where(col(FlowVersion.version) == version)
    rows = list(session.execute(query).scalars())
    if flow is None and not rows:
        raise NotFound(f"there is no flow {key!r}")
    if version is not None and not rows:
        raise NotFound(f"flow {key!r} has no version {version}")
    return rows


def _node_ids(versions: list[FlowVersion]) -> dict[str, str]:
    """Node id -> type, in document order across the versions."""
    nodes: dict[str, str] = {}
    for row in versions:
        for node in row.document.get("nodes") or []:
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                nodes.setdefault(node["id"], str(node.get("type") or ""))
    return nodes


def _run_filter(key: str, version: int | None) -> list[Any]:
    clauses: list[Any] = [col(Run.flow_key) == key]
    if version is not None:
        clauses.append(col(Run.version) == version)
    return clauses


def _between(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    clauses = []
    if since is not None:
        clauses.append(column >= since)
    if until is not None:
        clauses.append(column < until)
    return clauses


def flow_stats(
    services: Services, key: str, version: int | None = None, since: Any = None, until: Any = None
) -> dict[str, Any]:
    """Runs by status and each node's entered / completed / failed / waiting-now counts."""
    start, end = parse_range(since, until)
    runs = _run_filter(key, version)
    with Session(services.engine) as session:
        versions = _versions(session, key, version)
        by_status: Counter[str] = Counter()
        per_version: dict[int, Counter[str]] = {}
        query = (
            select(col(Run.version), col(Run.status), func.count())
            .where(*runs, *_between(col(Run.started_at), start, end))
            .group_by(col(Run.version), col(Run.status))
        )
        for ver, status, n in session.execute(query):
            by_status[status] += n
            per_version.setdefault(int(ver), Counter())[status] += n
        waiting_now = Counter(
            {
                cursor: n
                for cursor, n in session.execute(
                    select(col(Run.cursor), func.count())
                    .where(*runs, col(Run.status) == str(RunStatus.WAITING))
                    .group_by(col(Run.cursor))
                )
            }
        )
        nodes = _node_counts(session, runs, start, end)
    known = _node_ids(versions)
    for node in [*nodes, *waiting_now]:
        if node is not None:
            known.setdefault(str(node), "")
    return {
        "flow": key,
        "version": version,
        "since": iso(start) if start else None,
        "until": iso(end) if end else None,
        "runs": _run_counts(by_status, sum(waiting_now.values())),
        "versions": [{"version": v, **_run_counts(c, None)} for v, c in sorted(per_version.items())],
        "nodes": [
            {
                "node": node,
                "type": kind,
                "entered": nodes.get(node, {}).get("entered", 0),
                "visits": nodes.get(node, {}).get("visits", 0),
                "completed": nodes.get(node, {}).get("completed", 0),
                "failed": nodes.get(node, {}).get("failed", 0),
                "waiting_now": waiting_now.get(node, 0),
            }
            for node, kind in known.items()
        ],
    }


def _run_counts(by_status: Counter[str], waiting_now: int | None) -> dict[str, Any]:
    counts: dict[str, Any] = {"entered": sum(by_status.values())}
    counts.update({str(s): by_status.get(str(s), 0) for s in RunStatus})
    if waiting_now is not None:
        counts["waiting_now"] = waiting_now
    return counts


def _node_counts(
    session: Session, runs: list[Any], start: datetime | None, end: datetime | None
) -> dict[str, dict[str, int]]:
    where = [*runs, *_between(col(Step.at), start, end)]
    joined = select(col(Step.node)).join(Run, col(Run.id) == col(Step.run_id)).where(*where)
    out: dict[str, dict[str, int]] = {}
    query = joined.add_columns(col(Step.status), func.count()).group_by(col(Step.node), col(Step.status))
    for node, status, n in session.execute(query):
        counts = out.setdefault(node, {"entered": 0, "visits": 0, "completed": 0, "failed": 0})
        counts["visits"] += n
        counts["completed"] += n if status == "done" else 0
        counts["failed"] += n if status in FAILED_STEPS else 0
    entered = joined.add_columns(func.count(distinct(col(Step.run_id)))).group_by(col(Step.node))
    for node, n in session.execute(entered):
        out[node]["entered"] = n
    return out


def funnel(
    services: Services,
    key: str,
    source: Any,
    target: Any,
    version: int | None = None,
    since: Any = None,
    until: Any = None,
) -> dict[str, Any]:
    """How many runs that visited `source` in the range later visited `target`."""
    start, end = parse_range(since, until)
    runs = _run_filter(key, version)
    with Session(services.engine) as session:
        known = _node_ids(_versions(session, key, version))
        problems = [
            (f"/{name}", f"flow {key!r} has no node {value!r}; its nodes: {', '.join(known)}")
            for name, value in (("from", source), ("to", target))
            if not isinstance(value, str) or value not in known
        ]
        if problems:
            raise Invalid.many(problems)
        a, b = aliased(Step), aliased(Step)
        base = [col(a.node) == source, *runs, *_between(col(a.at), start, end)]
        entered = session.execute(
            select(func.count(distinct(col(a.run_id)))).join(Run, col(Run.id) == col(a.run_id)).where(*base)
        ).scalar_one()
        converted = session.execute(
            select(func.count(distinct(col(a.run_id))))
            .join(Run, col(Run.id) == col(a.run_id))
            .join(b, and_(col(b.run_id) == col(a.run_id), col(b.seq) > col(a.seq), col(b.node) == target))
            .where(*base)
        ).scalar_one()
    return {
        "flow": key,
        "version": version,
        "from": source,
        "to": target,
        "since": iso(start) if start else None,
        "until": iso(end) if end else None,
        "entered": int(entered),
        "converted": int(converted),
        "rate": round(converted / entered, 4) if entered else None,
    }
