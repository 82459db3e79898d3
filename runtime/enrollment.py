"""Bulk enrollment: every contact or deal matching a condition is enrolled into a published flow by an
RQ job, with its progress in a Redis hash the API polls (`GET /api/enrollments/<id>`).

The condition is the flow condition language over `contact` / `deal` (a deal's contact too). Records
are scanned by id in pages; each match goes through `operations.enroll`, so the flow's `reenroll`
setting decides as it does for any start. Progress survives the web process; the runs are rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import jobs, operations
from runtime.conditions import Clock, evaluate
from runtime.errors import FlowrightError
from runtime.host import DbHost
from runtime.models import Contact, Deal
from runtime.services import Services

PREFIX = "flowright:enrollment:"
KEEP_SECONDS = 7 * 24 * 3600
PAGE = 500
OBJECTS = {"contact": Contact, "deal": Deal}


class EnrollmentRefused(ValueError):
    """A request that cannot start (no such object kind, a broken condition); `pointer` says where."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.pointer = pointer


def _key(job_id: str) -> str:
    return PREFIX + job_id


def check_condition(condition: Mapping[str, Any] | None, services: Services) -> None:
    """Evaluate once over empty records: a structural error (unknown op, bad regex) surfaces now."""
    if not condition:
        return
    try:
        evaluate(condition, {"contact": {}, "deal": {}}, Clock(services.now()), "/where")
    except FlowrightError as exc:
        message = str(getattr(exc, "message", exc))
        raise EnrollmentRefused(message, getattr(exc, "pointer", "/where")) from None
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise EnrollmentRefused(f"not a condition: {exc}", "/where") from None


def start(
    services: Services, key: str, object_kind: str, where: Mapping[str, Any] | None, limit: int | None = None
) -> dict[str, Any]:
    """Check the request, record the job as queued and enqueue it; returns its progress."""
    if object_kind not in OBJECTS:
        raise EnrollmentRefused(f"object must be one of {', '.join(OBJECTS)}", "/object")
    with Session(services.engine) as session:
        services.current_flow(session, key)  # LookupError when not published
    check_condition(where, services)
    job_id = uuid.uuid4().hex
    state = {"id": job_id, "flow": key, "object": object_kind, "status": "queued", "scanned": 0,
             "matched": 0, "enrolled": 0, "refused": 0, "failed": 0, "error": "",
             "created_at": services.now().isoformat(), "finished_at": ""}
    services.redis.hset(_key(job_id), mapping={**{k: str(v) for k, v in state.items()},
                                               "where": json.dumps(where or {}), "limit": str(limit or 0)})
    services.redis.expire(_key(job_id), KEEP_SECONDS)
    jobs.queue(services.redis).enqueue("runtime.enrollment.run_job", job_id, job_timeout=3600)
    return progress(services, job_id)


def progress(services: Services, job_id: str) -> dict[str, Any]:
    raw = {k.decode(): v.decode() for k, v in services.redis.hgetall(_key(job_id)).items()}
    if not raw:
        raise LookupError(f"there is no enrollment {job_id}")
    counts = ("scanned", "matched", "enrolled", "refused", "failed")
    out: dict[str, Any] = {k: raw.get(k, "") for k in ("id", "flow", "object", "status", "error",
                                                       "created_at", "finished_at")}
    out.update({k: int(raw.get(k) or 0) for k in counts})
    out["error"] = out["error"] or None
    out["finished_at"] = out["finished_at"] or None
    return out


def _scope(host: DbHost, kind: str, record: dict[str, Any]) -> dict[str, Any]:
    scope: dict[str, Any] = {kind: record}
    if kind == "deal" and record.get("contact_id") is not None:
        scope["contact"] = host.records.get("contact", record["contact_id"]) or {}
    return scope


def run(services: Services, job_id: str) -> dict[str, Any]:
    """Scan, match and enroll, updating the progress hash after every page."""
    key = _key(job_id)
    raw = {k.decode(): v.decode() for k, v in services.redis.hgetall(key).items()}
    if not raw or raw.get("status") not in ("queued", "running"):
        return progress(services, job_id) if raw else {}
    where, limit, kind = json.loads(raw["where"]) or None, int(raw.get("limit") or 0), raw["object"]
    model = OBJECTS[kind]
    services.redis.hset(key, "status", "running")
    last, counts = 0, {"scanned": 0, "matched": 0, "enrolled": 0, "refused": 0, "failed": 0}
    try:
        while True:
            with Session(services.engine) as session:
                host = DbHost(services, session)
                ids = list(session.execute(select(model.id).where(model.id > last).order_by(model.id)
                                           .limit(PAGE)).scalars())
                matches = []
                for record_id in ids:
                    record = host.records.get(kind, record_id) or {}
                    counts["scanned"] += 1
                    clock = Clock(services.now())
                    if not where or evaluate(where, _scope(host, kind, record), clock, "/where"):
                        matches.append(record_id)
            for record_id in matches:
                if limit and counts["matched"] >= limit:
                    break
                counts["matched"] += 1
                try:
                    started = operations.enroll(services, raw["flow"], {f"{kind}_id": record_id})
                    counts["enrolled" if started else "refused"] += 1
                except (LookupError, ValueError, FlowrightError):
                    counts["failed"] += 1
            services.redis.hset(key, mapping={k: str(v) for k, v in counts.items()})
            if not ids or (limit and counts["matched"] >= limit):
                break
            last = ids[-1]
        services.redis.hset(key, mapping={"status": "done", "finished_at": services.now().isoformat()})
    except Exception as exc:
        services.redis.hset(key, mapping={"status": "failed", "error": str(exc)[:500],
                                          "finished_at": services.now().isoformat()})
        raise
    return progress(services, job_id)


def run_job(job_id: str) -> None:
    """The RQ entry point (plain arguments only: the job id)."""
    run(jobs.current(), job_id)
