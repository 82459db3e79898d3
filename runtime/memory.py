"""An in-memory record store implementing `connectors.base.Records`, for the simulator.

Every change emits the event the SQL store would emit (DESIGN §7) into `outbox`, so a simulated run
sees its own `crm.move_stage` as a `deal.stage_changed`.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from runtime.durations import iso

KINDS = ("contact", "deal")


class MemoryRecords:
    """Contacts, deals, tasks, notes, users and teams held in dicts; ids are whatever the caller gave."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.data: dict[str, dict[Any, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.tasks: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.enrolments: list[dict[str, Any]] = []
        self.teams: dict[str, list[dict[str, Any]]] = {}
        self.counters: dict[str, int] = {}
        self.outbox: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ loading
    def put(self, kind: str, record: Mapping[str, Any]) -> Any:
        stored: dict[str, Any] = copy.deepcopy(dict(record))
        record_id = stored.setdefault("id", f"{kind[0]}{len(self.data[kind]) + 1}")
        self.data[kind][record_id] = stored
        return record_id

    # ------------------------------------------------------------ Records protocol
    def get(self, kind: str, record_id: Any) -> dict[str, Any] | None:
        record = self.data.get(kind, {}).get(record_id)
        return copy.deepcopy(record) if record is not None else None

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = str(email).strip().casefold()
        for record in self.data["contact"].values():
            if str(record.get("email") or "").strip().casefold() == wanted:
                return copy.deepcopy(record)
        return None

    def update(self, kind: str, record_id: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        record = self._record(kind, record_id)
        changed = {k: v for k, v in fields.items() if record.get(k) != v}
        if "stage" in changed and kind == "deal":
            self.move_stage(record_id, str(changed.pop("stage")), changed.pop("pipeline", None))
        record.update(changed)
        if kind == "contact" and "status" in changed:  # as the SQL store keeps it
            record["status_changed_at"] = iso(self.clock())
        if changed:
            self._emit(f"{kind}.updated", kind, record_id, {"changes": changed, **changed})
            if kind == "contact" and changed.get("subscribed") is False:  # as the SQL store does
                self._emit("contact.unsubscribed", kind, record_id, {})
        return copy.deepcopy(record)

    def move_stage(self, deal_id: Any, stage: str, pipeline: str | None = None) -> dict[str, Any]:
        deal = self._record("deal", deal_id)
        before = deal.get("stage")
        if pipeline:
            deal["pipeline"] = pipeline
        if before != stage:
            deal["stage"] = stage
            deal["stage_entered_at"] = iso(self.clock())
            self._emit(
                "deal.stage_changed",
                "deal",
                deal_id,
                {"from": before, "to": stage, "pipeline": deal.get("pipeline")},
            )
        return copy.deepcopy(deal)

    def add_tag(self, kind: str, record_id: Any, tag: str) -> dict[str, Any]:
        record = self._record(kind, record_id)
        tags = list(record.get("tags") or [])
        if tag not in tags:
            tags.append(tag)
            record["tags"] = tags
            self._emit(f"{kind}.updated", kind, record_id, {"changes": {"tags": tags}, "tags": tags})
        return copy.deepcopy(record)

    def add_score(self, kind: str, record_id: Any, points: float) -> dict[str, Any]:
        record = self._record(kind, record_id)
        score = record.get("score") or 0
        record["score"] = score + points
        self._emit(
            f"{kind}.updated",
            kind,
            record_id,
            {"changes": {"score": record["score"]}, "score": record["score"]},
        )
        return copy.deepcopy(record)

    def add_note(self, kind: str, record_id: Any, text: str) -> dict[str, Any]:
        self._record(kind, record_id)
        note = {
            "id": next(self._ids),
            "kind": kind,
            "record_id": record_id,
            "text": text,
            "at": iso(self.clock()),
        }
        self.notes.append(note)
        return dict(note)

    def create_task(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        task = {"id": next(self._ids), "done": False, **fields}
        if isinstance(task.get("due_at"), datetime):
            task["due_at"] = iso(task["due_at"])
        self.tasks.append(task)
        subject = {"contact_id": task.get("contact_id"), "deal_id": task.get("deal_id")}
        self.outbox.append({"type": "task.created", "subject": subject, "data": dict(task)})
        return dict(task)

    def team_members(self, team: str) -> list[dict[str, Any]]:
        members = self.teams.get(team)
        if members is None:  # the simulator invents a two-person team so assignment can be tried out
            members = [
                {
                    "id": f"{team}-1",
                    "name": f"{team} member 1",
                    "email": f"{team}1@example.com",
                    "away": False,
                    "weight": 1,
                },
                {
                    "id": f"{team}-2",
                    "name": f"{team} member 2",
                    "email": f"{team}2@example.com",
                    "away": False,
                    "weight": 1,
                },
            ]
            self.teams[team] = members
        return copy.deepcopy(members)

    def open_load(self, user_id: Any) -> int:
        tasks = sum(1 for t in self.tasks if t.get("assignee") == user_id and not t.get("done"))
        deals = sum(1 for d in self.data["deal"].values() if d.get("owner") == user_id)
        return tasks + deals

    def next_counter(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def enroll(self, flow_key: str, subject: Mapping[str, Any]) -> dict[str, Any]:
        entry = {
            "flow": flow_key,
            "subject": dict(subject),
            "run_id": f"sim-{flow_key}-{len(self.enrolments) + 1}",
        }
        self.enrolments.append(entry)
        return {"run_id": entry["run_id"], "flow": flow_key}

    def announce(self, event_type: str, subject: Mapping[str, Any], data: Mapping[str, Any],
                 event_id: str) -> None:
        keys = {k: v for k, v in subject.items() if k in ("contact_id", "deal_id") and v is not None}
        self.outbox.append({"id": event_id, "type": event_type, "subject": keys, "data": dict(data)})

    # ------------------------------------------------------------ helpers
    def _record(self, kind: str, record_id: Any) -> dict[str, Any]:
        if kind not in self.data:
            raise LookupError(f"unknown record kind {kind!r}; known: {', '.join(KINDS)}")
        if record_id not in self.data[kind]:
            raise LookupError(f"the run has no {kind}")
        return self.data[kind][record_id]

    def _emit(self, event_type: str, kind: str, record_id: Any, data: dict[str, Any]) -> None:
        self.outbox.append({"type": event_type, "subject": {f"{kind}_id": record_id}, "data": data})

    def snapshot(self, subject: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
        return {
            kind: self.get(kind, subject.get(f"{kind}_id")) for kind in KINDS if subject.get(f"{kind}_id")
        }
