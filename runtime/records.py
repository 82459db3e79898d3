"""The SQL record store: contacts, deals, pipelines, tasks, activities, users and teams.

It implements `connectors.base.Records` on a caller's session (so a `crm.update` commits with the step
that made it) and emits the DESIGN §4 event of every change through `emit`, which the runtime wires to
ingestion. Records are plain dicts: standard fields and custom fields side by side, datetimes as ISO.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from runtime.durations import iso, to_datetime
from runtime.models import Activity, Contact, Counter, Deal, Pipeline, Stage, Task, Team, TeamMember, User

Emit = Callable[[dict[str, Any]], None]
READ_ONLY = frozenset({"id", "created_at", "updated_at"})
MODELS: dict[str, type[SQLModel]] = {"contact": Contact, "deal": Deal}
STANDARD: dict[str, frozenset[str]] = {
    kind: frozenset(model.model_fields) - READ_ONLY - {"custom"} for kind, model in MODELS.items()
}
DATETIMES = frozenset({"last_contact_at", "stage_entered_at", "due_at"})


def as_dict(row: SQLModel) -> dict[str, Any]:
    """A row as the plain dict conditions, templates and actions see; custom fields flat."""
    data = row.model_dump()
    custom = data.pop("custom", None) or {}
    out = {**custom, **data}
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in out.items()}


class SqlRecords:
    """`connectors.base.Records` over SQLModel tables, bound to one session."""

    def __init__(
        self,
        session: Session,
        clock: Callable[[], datetime],
        emit: Emit,
        enroller: Callable[[str, Mapping[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.emit = emit
        self.enroller = enroller

    # ------------------------------------------------------------ reading
    def get(self, kind: str, record_id: Any) -> dict[str, Any] | None:
        row = self._row(kind, record_id, required=False)
        return as_dict(row) if row is not None else None

    def find_contact(self, key: Any) -> dict[str, Any] | None:
        """A contact by id, e-mail or phone."""
        row = self._contact_by(key)
        return as_dict(row) if row is not None else None

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        text = str(email).strip().lower()
        if "@" not in text:
            return None
        row = self.session.execute(select(Contact).where(Contact.email == text)).scalars().first()
        return as_dict(row) if row is not None else None

    def _contact_by(self, key: Any) -> Contact | None:
        text = str(key).strip()
        if text.isdigit():
            return self.session.get(Contact, int(text))
        column = Contact.email if "@" in text else Contact.phone
        value = text.lower() if "@" in text else text
        return self.session.execute(select(Contact).where(column == value)).scalars().first()

    # ------------------------------------------------------------ writing
    def put(self, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record, or update it when `id` (or, for contacts, e-mail or phone) finds one."""
        fields = dict(fields)
        row = self._row(kind, fields.pop("id"), required=True) if fields.get("id") is not None else None
        if row is None and kind == "contact":
            row = self._match_contact(fields)
        if row is None:
            return self._create(kind, fields)
        return self.update(kind, row.id, fields)

    def upsert_contact(self, fields: Mapping[str, Any]) -> int:
        """The id of the contact with this e-mail or phone, created (and announced) when new."""
        row = self._match_contact(fields)
        if row is None:
            try:
                with self.session.begin_nested():
                    return int(self._create("contact", fields)["id"])
            except IntegrityError:  # created by a concurrent request a moment ago (same e-mail/phone)
                row = self._match_contact(fields)
                if row is None:
                    raise
        extra = {k: v for k, v in fields.items() if k not in ("email", "phone") and v is not None}
        if extra:
            self.update("contact", row.id, extra)
        return int(row.id)  # type: ignore[arg-type]

    def _match_contact(self, fields: Mapping[str, Any]) -> Contact | None:
        """The contact holding this e-mail, else this phone (a phone of digits is a phone, not an id)."""
        for key, column in (("email", Contact.email), ("phone", Contact.phone)):
            if fields.get(key):
                text = str(fields[key]).strip()
                value = text.lower() if key == "email" else text
                row = self.session.execute(select(Contact).where(column == value)).scalars().first()
                if row is not None:
                    return row
        return None

    def _create(self, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        model = MODELS[kind]
        row = model()
        now = self.clock()
        row.created_at = row.updated_at = now  # type: ignore[attr-defined]
        stage = fields.get("stage") if kind == "deal" else None
        self._assign(kind, row, fields)
        if stage:
            row.stage_entered_at = now  # type: ignore[attr-defined]
        self.session.add(row)
        self.session.flush()
        record = as_dict(row)
        self._emit(f"{kind}.created", kind, row, {kind: record})
        if stage:
            self._emit(
                "deal.stage_changed",
                kind,
                row,
                {"from": None, "to": stage, "pipeline": record.get("pipeline")},
            )
        return record

    def update(self, kind: str, record_id: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        row = self._row(kind, record_id, required=True)
        before = as_dict(row)
        fields = dict(fields)
        if kind == "deal" and fields.get("stage") is not None and fields["stage"] != before.get("stage"):
            self.move_stage(row.id, str(fields.pop("stage")), fields.pop("pipeline", None))
            before = as_dict(row)
        fields.pop("stage", None) if kind == "deal" else None
        self._assign(kind, row, fields)
        after = as_dict(row)
        changes = {k: after.get(k) for k in fields if k not in READ_ONLY and after.get(k) != before.get(k)}
        if changes:
            row.updated_at = self.clock()  # type: ignore[attr-defined]
            if kind == "contact" and "status" in changes:  # "30 days in progress" rules read it
                row.custom = {**(row.custom or {}), "status_changed_at": iso(self.clock())}
            self.session.add(row)
            self.session.flush()
            self._emit(f"{kind}.updated", kind, row, {"changes": changes, **changes})
            if kind == "contact" and changes.get("subscribed") is False:
                self._emit("contact.unsubscribed", kind, row, {})
        return as_dict(row)

    def move_stage(self, deal_id: Any, stage: str, pipeline: str | None = None) -> dict[str, Any]:
        deal: Deal = self._row("deal", deal_id, required=True)  # type: ignore[assignment]
        target_pipeline = pipeline or deal.pipeline
        known = self.stages(target_pipeline) if target_pipeline else []
        if known and stage not in [s["key"] for s in known]:
            raise LookupError(
                f"pipeline {target_pipeline!r} has no stage {stage!r}; "
                f"its stages: {', '.join(s['key'] for s in known)}"
            )
        before = deal.stage
        deal.pipeline = target_pipeline
        if before != stage:
            now = self.clock()
            deal.stage, deal.stage_entered_at, deal.updated_at = stage, now, now
            self.session.add(deal)
            self.session.flush()
            self._emit(
                "deal.stage_changed", "deal", deal, {"from": before, "to": stage, "pipeline": deal.pipeline}
            )
        return as_dict(deal)

    def add_tag(self, kind: str, record_id: Any, tag: str) -> dict[str, Any]:
        row = self._row(kind, record_id, required=True)
        tags = list(row.tags or [])  # type: ignore[attr-defined]
        if tag in tags:
            return as_dict(row)
        return self.update(kind, record_id, {"tags": [*tags, tag]})

    def add_score(self, kind: str, record_id: Any, points: float) -> dict[str, Any]:
        row = self._row(kind, record_id, required=True)
        return self.update(kind, record_id, {"score": (row.score or 0) + points})  # type: ignore[attr-defined]

    def add_note(self, kind: str, record_id: Any, text: str) -> dict[str, Any]:
        row = self._row(kind, record_id, required=True)
        contact_id = row.id if kind == "contact" else row.contact_id  # type: ignore[attr-defined]
        note = self.record_activity(
            "note", {"text": text}, contact_id=contact_id, deal_id=row.id if kind == "deal" else None
        )
        return {"id": note.id, "kind": kind, "record_id": row.id, "text": text, "at": iso(note.at)}

    def record_activity(
        self,
        type_: str,
        data: Mapping[str, Any],
        *,
        contact_id: int | None = None,
        deal_id: int | None = None,
        event_id: str | None = None,
        at: datetime | None = None,
    ) -> Activity:
        activity = Activity(
            contact_id=contact_id,
            deal_id=deal_id,
            type=type_,
            data=dict(data),
            event_id=event_id,
            at=at or self.clock(),
        )
        self.session.add(activity)
        self.session.flush()
        return activity

    def touch_contact(self, contact_id: int, at: datetime) -> None:
        """Move `last_contact_at` forward (never back) without announcing it as a change."""
        self.session.execute(
            update(Contact)
            .where(Contact.id == contact_id)  # type: ignore[arg-type]
            .where((Contact.last_contact_at.is_(None)) | (Contact.last_contact_at < at))  # type: ignore[union-attr,operator]
            .values(last_contact_at=at)
        )

    def touch_opened(self, contact_id: int, at: datetime) -> None:
        """Move the contact's `last_opened_at` (a custom field) forward on an opened mail, never back and
        without announcing it as a change, as `touch_contact` keeps `last_contact_at`."""
        row = self.session.get(Contact, contact_id)
        if row is None:
            return
        custom = dict(row.custom or {})
        known = to_datetime(custom["last_opened_at"]) if custom.get("last_opened_at") else None
        if known is None or known < at:
            row.custom = {**custom, "last_opened_at": iso(at)}
            self.session.add(row)
            self.session.flush()

    def announce(self, event_type: str, subject: Mapping[str, Any], data: Mapping[str, Any],
                 event_id: str) -> None:
        """Emit an event a flow raises about its subject (`flow.emit`), through the same door as the
        store's own events; `event_id` makes a repeated step post it once."""
        self.emit({"id": event_id, "type": event_type, "subject": self._subject(
            subject.get("contact_id"), subject.get("deal_id")), "data": dict(data), "at": iso(self.clock())})

    # ------------------------------------------------------------ tasks
    def create_task(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        due = fields.get("due_at")
        task = Task(
            title=str(fields.get("title") or "Task"),
            notes=fields.get("notes"),
            due_at=to_datetime(due) if due is not None else None,
            assignee=fields.get("assignee"),
            contact_id=fields.get("contact_id"),
            deal_id=fields.get("deal_id"),
            created_at=self.clock(),
        )
        self.session.add(task)
        self.session.flush()
        record = as_dict(task)
        self.emit(
            {"type": "task.created", "subject": self._subject(task.contact_id, task.deal_id), "data": record}
        )
        return record

    def complete_task(self, task_id: int) -> dict[str, Any]:
        task = self.session.get(Task, task_id)
        if task is None:
            raise LookupError(f"no task {task_id}")
        if not task.done:
            task.done, task.completed_at = True, self.clock()
            self.session.add(task)
            self.session.flush()
            self._count_closed_tasks(task)
            self.emit(
                {
                    "type": "task.completed",
                    "subject": self._subject(task.contact_id, task.deal_id),
                    "data": as_dict(task),
                }
            )
        return as_dict(task)

    def _count_closed_tasks(self, task: Task) -> None:
        """Keep the contact's `closed_tasks` (a custom field) equal to its done tasks, recounted from the
        table at each completion (so a reopened task is not counted twice), before `task.completed` is
        announced: rules such as MiniCRM's "three closed tasks" read it."""
        contact = self.session.get(Contact, task.contact_id) if task.contact_id is not None else None
        if contact is None:
            return
        closed = self.session.execute(
            select(func.count()).select_from(Task).where(Task.contact_id == contact.id, Task.done.is_(True))  # type: ignore[arg-type,attr-defined]
        ).scalar_one()
        contact.custom = {**(contact.custom or {}), "closed_tasks": int(closed)}
        self.session.add(contact)
        self.session.flush()

    # ------------------------------------------------------------ pipelines, users, teams
    def put_pipeline(self, key: str, stages: list[str], name: str = "") -> dict[str, Any]:
        pipeline = self.session.execute(select(Pipeline).where(Pipeline.key == key)).scalars().first()
        if pipeline is None:
            pipeline = Pipeline(key=key, name=name or key)
            self.session.add(pipeline)
            self.session.flush()
        existing = {s.key: s for s in self._stage_rows(pipeline.id)}
        for position, stage_key in enumerate(stages):
            row = existing.get(stage_key) or Stage(pipeline_id=pipeline.id, key=stage_key, name=stage_key)
            row.position = position
            self.session.add(row)
        self.session.flush()
        return {"key": key, "name": pipeline.name, "stages": self.stages(key)}

    def stages(self, pipeline: str) -> list[dict[str, Any]]:
        found = self.session.execute(select(Pipeline).where(Pipeline.key == pipeline)).scalars().first()
        return [as_dict(s) for s in self._stage_rows(found.id)] if found else []

    def _stage_rows(self, pipeline_id: int | None) -> list[Stage]:
        query = select(Stage).where(Stage.pipeline_id == pipeline_id).order_by(Stage.position)  # type: ignore[arg-type]
        return list(self.session.execute(query).scalars())

    def put_user(
        self, email: str, name: str = "", *, role: str = "editor", away: bool = False
    ) -> dict[str, Any]:
        user = self.session.execute(select(User).where(User.email == email.lower())).scalars().first()
        user = user or User(email=email.lower())
        user.name, user.role, user.away = name or user.name, role, away
        self.session.add(user)
        self.session.flush()
        return {k: v for k, v in as_dict(user).items() if k != "password_hash"}

    def put_team(self, key: str, members: list[Mapping[str, Any]], name: str = "") -> None:
        """members: [{"user_id", "weight"}] in order."""
        team = self.session.execute(select(Team).where(Team.key == key)).scalars().first()
        if team is None:
            team = Team(key=key, name=name or key)
            self.session.add(team)
            self.session.flush()
        for row in self.session.execute(select(TeamMember).where(TeamMember.team_id == team.id)).scalars():
            self.session.delete(row)
        self.session.flush()
        for position, member in enumerate(members):
            self.session.add(
                TeamMember(
                    team_id=team.id,
                    user_id=int(member["user_id"]),
                    weight=int(member.get("weight", 1)),
                    position=position,
                )
            )
        self.session.flush()

    def team_members(self, team: str) -> list[dict[str, Any]]:
        query = (
            select(User, TeamMember.weight)
            .join(TeamMember, TeamMember.user_id == User.id)  # type: ignore[arg-type]
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.key == team)  # type: ignore[arg-type]
            .order_by(TeamMember.position)
        )
        return [
            {"id": user.id, "name": user.name, "email": user.email, "away": user.away, "weight": weight}
            for user, weight in self.session.execute(query)
        ]

    def open_load(self, user_id: Any) -> int:
        tasks = self.session.execute(
            select(func.count()).select_from(Task).where(Task.assignee == user_id, Task.done.is_(False))
        ).scalar_one()  # type: ignore[attr-defined]
        deals = self.session.execute(
            select(func.count()).select_from(Deal).where(Deal.owner == user_id)
        ).scalar_one()
        return int(tasks) + int(deals)

    def next_counter(self, name: str) -> int:
        result = self.session.execute(
            update(Counter)
            .where(Counter.name == name)  # type: ignore[arg-type]
            .values(value=Counter.value + 1)
            .returning(Counter.value)
        ).first()
        if result is not None:
            return int(result[0])
        self.session.add(Counter(name=name, value=1))
        self.session.flush()
        return 1

    def enroll(self, flow_key: str, subject: Mapping[str, Any]) -> dict[str, Any]:
        if self.enroller is None:
            raise LookupError("enrolling into another flow is not available here")
        return self.enroller(flow_key, subject)

    # ------------------------------------------------------------ helpers
    def _row(self, kind: str, record_id: Any, *, required: bool) -> Any:
        model = MODELS.get(kind)
        if model is None:
            raise LookupError(f"unknown record kind {kind!r}; known: {', '.join(MODELS)}")
        row = None
        if record_id is not None and str(record_id).strip().isdigit():
            row = self.session.get(model, int(record_id))
        elif kind == "contact" and record_id is not None:
            row = self._contact_by(record_id)
        if row is None and required:
            raise LookupError(f"there is no {kind} {record_id!r}")
        return row

    def _assign(self, kind: str, row: Any, fields: Mapping[str, Any]) -> None:
        custom = dict(row.custom or {})
        for key, value in fields.items():
            if key in READ_ONLY:
                continue
            if key in STANDARD[kind]:
                if key in DATETIMES and value is not None:
                    value = to_datetime(value)
                if key == "email" and value:
                    value = str(value).strip().lower()
                setattr(row, key, value)
            else:
                custom[key] = value
        row.custom = custom

    def _subject(self, contact_id: int | None, deal_id: int | None) -> dict[str, Any]:
        return {k: v for k, v in (("contact_id", contact_id), ("deal_id", deal_id)) if v is not None}

    def _emit(self, event_type: str, kind: str, row: Any, data: dict[str, Any]) -> None:
        contact_id = row.id if kind == "contact" else row.contact_id
        deal_id = row.id if kind == "deal" else None
        self.emit(
            {
                "type": event_type,
                "subject": self._subject(contact_id, deal_id),
                "data": data,
                "at": iso(self.clock()),
                "origin": "store",
            }
        )
