"""Publishing: drafts become immutable versions (document + sha256 + author + time), the trigger index
is rebuilt, and waiting runs of older versions are kept, moved or cancelled as the publish asks.

`preview` counts the waiting runs per node and says, per (old version, node), what `migrate` does with
them: move them as they are (same node type and waiting spec), make them re-enter the node as the new
version defines it (a changed delay or wait, counted from when they entered; see docs/decisions.md), or
leave them on their version because they cannot move (the node is gone or no longer waits), and why.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from runtime import interpreter
from runtime.host import DbHost
from runtime.models import Flow as FlowRow
from runtime.models import FlowVersion, Run, TriggerIndex
from runtime.run import RunStatus
from runtime.services import Services, load_flow

POLICIES = ("keep", "migrate", "cancel")


WAITING_SPEC = {"delay": ("duration", "until", "offset", "window"), "wait_for": ("event", "where", "timeout")}
RUN_IDS_SHOWN = 100


@dataclass
class Move:
    """What `migrate` does with the runs of one old version waiting in one node."""

    node: str
    from_version: int
    action: str  # "move" | "reenter" | "stay"
    reason: str
    run_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "node": self.node,
            "from_version": self.from_version,
            "runs": len(self.run_ids),
            "reason": self.reason,
        }
        if self.action == "stay":
            data["run_ids"] = self.run_ids[:RUN_IDS_SHOWN]
        return data


@dataclass
class Preview:
    version: int
    waiting: dict[str, int] = field(default_factory=dict)  # node id -> waiting runs of older versions
    cannot_move: list[str] = field(default_factory=list)  # nodes with runs that cannot move
    moves: list[Move] = field(default_factory=list)

    def of(self, action: str) -> list[Move]:
        return [m for m in self.moves if m.action == action]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "waiting": self.waiting,
            "cannot_move": self.cannot_move,
            "blocked": [m.to_dict() for m in self.of("stay")],
            "reenter": [m.to_dict() for m in self.of("reenter")],
        }


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
    nodes = {str(n.get("id")): n for n in document.get("nodes", [])}
    groups: dict[tuple[int, str, str], list[str]] = {}
    for run_id, run_version, state in session.execute(
        select(Run.id, Run.version, Run.state)
        .where(Run.flow_key == key, Run.version < version, Run.status == str(RunStatus.WAITING))
        .order_by(Run.id)
    ):
        wait = state.get("wait") or {}
        node = str(wait.get("node") or state.get("cursor"))
        groups.setdefault((run_version, node, str(wait.get("kind") or "")), []).append(run_id)
    old_nodes = _old_nodes(session, key, {v for v, _, _ in groups})
    counts: Counter[str] = Counter()
    moves = []
    for (run_version, node, kind), run_ids in sorted(groups.items()):
        counts[node] += len(run_ids)
        action, reason = _judge(old_nodes.get((run_version, node)), nodes.get(node), kind, node, version)
        moves.append(Move(node, run_version, action, reason, run_ids))
    stuck = sorted({m.node for m in moves if m.action == "stay"})
    return Preview(version, dict(counts), stuck, moves)


def _old_nodes(session: Session, key: str, versions: set[int]) -> dict[tuple[int, str], Mapping[str, Any]]:
    rows = session.execute(
        select(FlowVersion.version, FlowVersion.document).where(
            FlowVersion.flow_key == key, FlowVersion.version.in_(versions)
        )
    )
    return {(v, str(n.get("id"))): n for v, doc in rows for n in doc.get("nodes", [])}


def _spec(node: Mapping[str, Any]) -> dict[str, Any]:
    return {k: node.get(k) for k in WAITING_SPEC.get(str(node.get("type")), ())}


def _judge(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, kind: str, node: str, version: int
) -> tuple[str, str]:
    """(action, reason) for runs waiting in `node` (`kind`: delay, wait_for or retry) moving to `new`."""
    if new is None:
        return "stay", f"version {version} has no node {node!r}"
    old_type, new_type = str((old or {}).get("type") or kind), str(new.get("type"))
    changed = f"{node!r} was {_a(old_type)} and is {_a(new_type)} in version {version}"
    if kind == "retry":
        if old_type != new_type:
            return "stay", changed
        return "move", "an action waiting to be retried; the new version's node runs it"
    if new_type not in WAITING_SPEC:
        return "stay", f"{changed}: it does not wait"
    if old is not None and old_type == new_type and _spec(old) == _spec(new):
        return "move", "the node waits as before"
    was, now = _describe(old) if old else _a(old_type), _describe(new)
    return "reenter", (
        f"{node!r} was {was} and is {now} in version {version}: "
        "its runs re-enter it, counting from when they entered"
    )


def _describe(node: Mapping[str, Any]) -> str:
    spec = ", ".join(f"{k} {json.dumps(v)}" for k, v in _spec(node).items() if v is not None)
    return _a(str(node.get("type"))) + (f" ({spec})" if spec else "")


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


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
        outcome = POLICY_ACTIONS[policy](services, session, key, version, report)
        session.commit()
    result = {"key": key, "version": version, "policy": policy, "moved": 0, **outcome}
    return {**result, "preview": report.to_dict()}


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


def _keep(services: Services, session: Session, key: str, version: int, report: Preview) -> dict[str, int]:
    return {}


def _migrate(services: Services, session: Session, key: str, version: int, report: Preview) -> dict[str, int]:
    """Move the waiting runs the preview found movable: as they are, or re-entering their changed node.
    A run a worker holds right now (waking, say) stays on its version and is counted as `busy`."""
    host = DbHost(services, session)
    flow = services.flow(session, key, version)
    done = {"moved": 0, "reentered": 0, "stayed": sum(len(m.run_ids) for m in report.of("stay")), "busy": 0}
    for move in report.moves:
        if move.action == "stay":
            continue
        owned = set(host.claim(move.run_ids))
        done["busy"] += len(move.run_ids) - len(owned)
        for run_id in move.run_ids:
            run = host.load(run_id) if run_id in owned else None
            if run is None or run.status != RunStatus.WAITING:
                continue
            run.version = version
            if move.action == "reenter":
                host.forget()  # its wait rows are rewritten even when the event type is the same
                interpreter.reenter(flow, run, host)
                done["reentered"] += 1
            else:
                host.save(run, None)
            session.execute(update(Run).where(Run.id == run_id).values(version=version))
            done["moved"] += 1
    host.release()
    return done


def _cancel(services: Services, session: Session, key: str, version: int, report: Preview) -> dict[str, int]:
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
    return {"cancelled": cancelled, "busy": len(ids) - cancelled}


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
