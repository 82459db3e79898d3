"""Publishing: drafts become immutable versions (document + sha256 + author + time), the trigger index
is rebuilt, and waiting runs of older versions are kept, moved or cancelled as the publish asks.

`preview` counts the waiting runs per node and says which of those nodes the new version lacks: those
runs cannot move and stay on their version under `migrate`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from runtime import interpreter
from runtime.host import DbHost
from runtime.models import Flow as FlowRow
from runtime.models import FlowVersion, Run, TriggerIndex
from runtime.run import RunStatus
from runtime.services import Services, load_flow

POLICIES = ("keep", "migrate", "cancel")


@dataclass
class Preview:
    version: int
    waiting: dict[str, int] = field(default_factory=dict)  # node id -> waiting runs of older versions
    cannot_move: list[str] = field(default_factory=list)  # nodes the new version lacks

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "waiting": self.waiting, "cannot_move": self.cannot_move}


def document_hash(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def save_draft(services: Services, document: Mapping[str, Any]) -> str:
    """Store (or replace) a flow's draft; the flow is checked so a broken draft is refused early."""
    load_flow(document, 0, services.registry)
    key = str(document["key"])
    with Session(services.engine, expire_on_commit=False) as session:
        row = session.execute(select(FlowRow).where(FlowRow.key == key)).scalars().first()
        row = row or FlowRow(key=key)
        row.document, row.name, row.updated_at = (
            dict(document),
            str(document.get("name") or key),
            services.now(),
        )
        session.add(row)
        session.commit()
    return key


def preview(services: Services, key: str, document: Mapping[str, Any] | None = None) -> Preview:
    with Session(services.engine) as session:
        row = _flow_row(session, key)
        document = document or row.document
        latest = _latest(session, key)
        return _preview(session, key, document, latest + 1)


def _preview(session: Session, key: str, document: Mapping[str, Any], version: int) -> Preview:
    nodes = {n.get("id") for n in document.get("nodes", [])}
    counts: Counter[str] = Counter()
    for state in session.execute(
        select(Run.state).where(
            Run.flow_key == key, Run.version < version, Run.status == str(RunStatus.WAITING)
        )
    ).scalars():
        counts[str((state.get("wait") or {}).get("node") or state.get("cursor"))] += 1
    return Preview(version, dict(counts), sorted(n for n in counts if n not in nodes))


def publish(
    services: Services,
    key: str,
    *,
    document: Mapping[str, Any] | None = None,
    policy: str = "keep",
    author: str | None = None,
) -> dict[str, Any]:
    """Publish the draft (or `document`) as the next version; returns the version and the preview."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    if document is not None:
        save_draft(services, document)
    with Session(services.engine, expire_on_commit=False) as session:
        row = _flow_row(session, key)
        doc = dict(row.document)
        digest = document_hash(doc)
        current = (
            session.execute(
                select(FlowVersion).where(
                    FlowVersion.flow_key == key, FlowVersion.version == row.published_version
                )
            )
            .scalars()
            .first()
        )
        if current is not None and current.hash == digest:
            return {
                "key": key,
                "version": current.version,
                "unchanged": True,
                "preview": _preview(session, key, doc, current.version).to_dict(),
            }
        version = _latest(session, key) + 1
        load_flow(doc, version, services.registry)
        report = _preview(session, key, doc, version)
        session.add(
            FlowVersion(
                flow_key=key,
                version=version,
                document=doc,
                hash=digest,
                author=author,
                created_at=services.now(),
            )
        )
        row.published_version, row.updated_at = version, services.now()
        session.add(row)
        rebuild_index(session, key, version, doc)
        session.commit()
        moved = POLICY_ACTIONS[policy](services, session, key, version, report)
        session.commit()
    return {"key": key, "version": version, "policy": policy, "moved": moved, "preview": report.to_dict()}


def rebuild_index(session: Session, key: str, version: int, document: Mapping[str, Any]) -> None:
    session.execute(delete(TriggerIndex).where(TriggerIndex.flow_key == key))
    for position, trigger in enumerate(document.get("triggers") or []):
        kind = str(trigger.get("type"))
        event_type = {"event": trigger.get("event"), "webhook": f"webhook.{key}"}.get(kind)
        session.add(
            TriggerIndex(
                flow_key=key,
                version=version,
                position=position,
                kind=kind,
                event_type=event_type,
                spec=dict(trigger),
            )
        )


def _keep(services: Services, session: Session, key: str, version: int, report: Preview) -> int:
    return 0


def _migrate(services: Services, session: Session, key: str, version: int, report: Preview) -> int:
    """Move waiting runs whose node exists in the new version; the state's version moves with them."""
    moved = 0
    rows = (
        session.execute(
            select(Run).where(
                Run.flow_key == key, Run.version < version, Run.status == str(RunStatus.WAITING)
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        node = (row.state.get("wait") or {}).get("node")
        if node in report.cannot_move:
            continue
        row.version, row.state = version, {**row.state, "version": version}
        session.add(row)
        moved += 1
    return moved


def _cancel(services: Services, session: Session, key: str, version: int, report: Preview) -> int:
    host = DbHost(services, session)
    ids = list(
        session.execute(
            select(Run.id).where(
                Run.flow_key == key, Run.version < version, Run.status == str(RunStatus.WAITING)
            )
        ).scalars()
    )
    cancelled = 0
    for run_id in host.claim(ids):
        run = host.load(run_id)
        if run is not None and run.status == RunStatus.WAITING:
            interpreter.cancel(run, host, f"cancelled by publishing version {version}")
            cancelled += 1
    host.release()
    return cancelled


POLICY_ACTIONS = {"keep": _keep, "migrate": _migrate, "cancel": _cancel}


def _flow_row(session: Session, key: str) -> FlowRow:
    row = session.execute(select(FlowRow).where(FlowRow.key == key)).scalars().first()
    if row is None:
        raise LookupError(f"there is no flow {key!r}; import it first")
    return row


def _latest(session: Session, key: str) -> int:
    return int(
        session.execute(select(func.max(FlowVersion.version)).where(FlowVersion.flow_key == key)).scalar()
        or 0
    )


def versions(services: Services, key: str) -> list[dict[str, Any]]:
    with Session(services.engine) as session:
        rows = session.execute(
            select(FlowVersion).where(FlowVersion.flow_key == key).order_by(FlowVersion.version)
        ).scalars()
        return [
            {"version": r.version, "hash": r.hash, "author": r.author, "created_at": r.created_at.isoformat()}
            for r in rows
        ]


def export(services: Services, key: str, version: int | None = None) -> dict[str, Any]:
    with Session(services.engine) as session:
        if version is None:
            return dict(_flow_row(session, key).document)
        row = (
            session.execute(
                select(FlowVersion).where(FlowVersion.flow_key == key, FlowVersion.version == version)
            )
            .scalars()
            .first()
        )
        if row is None:
            raise LookupError(f"flow {key!r} has no version {version}")
        return dict(row.document)


__all__ = ["POLICIES", "Preview", "export", "preview", "publish", "save_draft", "versions"]
