"""The interpreter's host on the database: run rows, the step journal, waits, claims and real actions.

`save` only adds to the session (the drain group-commits steps without effects); `execute` commits
what came before, journals the action `started` with its idempotency key, calls it, and commits
`done` with the output, so a worker that dies anywhere loses nothing and repeats nothing that is done.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from connectors.base import ActionContext, Delivery, RunInfo
from connectors.credentials import CredentialError
from connectors.errors import ConnectorError, PermanentError, RateLimited
from connectors.session import TimeoutSession
from runtime import ingest
from runtime.flow import Flow
from runtime.models import Credential, Run, Step, Wait
from runtime.params import plain_output
from runtime.records import SqlRecords
from runtime.run import FINISHED, LIVE, RunState, RunStatus, StepRecord, StepStatus, transition
from runtime.services import Services

log = logging.getLogger("flowright.host")
UNKNOWN = (
    "the worker died while {action} was running, so whether it happened is unknown; check with the "
    "recipient or provider, then retry the run (it will run {action} again) or cancel it"
)


def subject_keys(contact_id: Any, deal_id: Any) -> list[str]:
    pairs = (("deal", deal_id), ("contact", contact_id))
    return [f"{kind}:{value}" for kind, value in pairs if value is not None]


def primary_key(subject: Mapping[str, Any]) -> str:
    keys = subject_keys(subject.get("contact_id"), subject.get("deal_id"))
    return keys[0] if keys else ""


class ShortReads:
    """The record store as a remote action (mail, SMS, HTTP) sees it: each call is its own short
    transaction, so no database lock is held while the action waits on the network (SQLite has one
    writer at a time; the web server and other workers must not wait for an SMTP server)."""

    def __init__(self, records: SqlRecords, session: Session) -> None:
        self._records = records
        self._session = session

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._records, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kw: Any) -> Any:
            try:
                return attribute(*args, **kw)
            finally:
                self._session.commit()

        return call


class DbHost:
    """One batch's view of the database, for `runtime.interpreter` (see its `Host` protocol)."""

    def __init__(self, services: Services, session: Session) -> None:
        self.services = services
        self.session = session
        self.registry = services.registry
        self.records = SqlRecords(session, services.now, self._emit, enroller=self._enroll)
        self.followups: list[str] = []  # queue items to push once the batch is committed
        self.later: list[str] = []  # items another worker holds the run for: offered again in a second
        self._waits: dict[str, Any] = {}
        self._steps: dict[tuple[str, int], Step] = {}
        self._fresh: set[str] = set()  # runs this host created: no journal rows in the database yet
        self.cache: dict[str, Any] = {}  # read-mostly rows this batch looked up (the trigger index)
        self.claimed: set[str] = set()
        self._http: requests.Session | None = None

    # ------------------------------------------------------------ Host protocol
    def now(self) -> datetime:
        return self.services.now()

    def load_records(self, run: RunState) -> dict[str, dict[str, Any] | None]:
        subject = run.subject
        return {
            kind: self.records.get(kind, subject.get(f"{kind}_id"))
            for kind in ("contact", "deal")
            if subject.get(f"{kind}_id") is not None
        }

    def save(self, run: RunState, step: StepRecord | None) -> None:
        row = self.session.get(Run, run.id)
        now = self.now()
        if row is None:
            row = Run(
                id=run.id,
                flow_key=run.flow,
                version=run.version,
                subject_key=primary_key(run.subject),
                contact_id=run.subject.get("contact_id"),
                deal_id=run.subject.get("deal_id"),
                status=str(run.status),
                started_at=run.started_at,
                claimed_by=self.services.worker_id,
                claimed_until=now + timedelta(seconds=self.services.claim_seconds),
            )
            self.claimed.add(run.id)
        row.status, row.cursor, row.wake_at = str(run.status), run.cursor, run.wake_at
        row.attempt, row.error, row.exit_reason = run.attempt, run.error, run.exit_reason
        row.state, row.updated_at = run.to_dict(), now
        row.lock_version = (row.lock_version or 0) + 1
        if run.status in FINISHED or run.status == RunStatus.FAILED:
            row.finished_at = now
        self.session.add(row)
        if step is not None:
            self._save_step(step)
        self._sync_waits(run)

    def execute(
        self, run: RunState, node: Mapping[str, Any], action: str, params: dict[str, Any], key: str
    ) -> dict[str, Any]:
        spec = self.registry.action(action)
        journal = self._step(run.id, run.visit)
        if journal is not None and journal.idempotency_key == key:
            if journal.status == StepStatus.DONE:
                return dict(journal.output or {})  # done before a crash: never call again
            if journal.status == StepStatus.STARTED and spec.delivery == Delivery.AT_MOST_ONCE:
                journal.status, journal.error = str(StepStatus.UNKNOWN), UNKNOWN.format(action=action)
                self.session.commit()
                raise PermanentError(journal.error)
        wait = self.services.rate_budget.acquire_for(spec, str(node.get("credential") or "default"), params)
        if wait > 0:  # the provider's budget is used up: the call is not made, the run is re-timed
            rate = spec.rate
            raise RateLimited(
                f"{spec.connector}: the rate budget of {rate.limit} calls per {rate.per_seconds:g}s "
                f"is used up; trying again in {wait:.1f}s",
                retry_after=wait,
            )
        now = self.now()
        journal = journal or Step(run_id=run.id, seq=run.visit, node=node["id"], type="action", status="")
        journal.node, journal.type, journal.status = node["id"], "action", str(StepStatus.STARTED)
        journal.idempotency_key, journal.attempt, journal.at, journal.error = key, run.attempt, now, None
        self._save_row(journal)
        timeout = float(params.get("timeout") or 60) if isinstance(params, dict) else 60
        self.session.execute(
            update(Run)
            .where(Run.id == run.id)
            .values(claimed_until=now + timedelta(seconds=self.services.claim_seconds + timeout))
        )
        try:
            ctx = self._context(run, node, spec, key)  # read before the commit: no lock held during the call
        except ConnectorError as exc:
            self._journal_failure(journal, exc.message)
            raise
        self.session.commit()  # the journal entry (and every step before it) is durable before the call
        try:
            output = plain_output(spec, spec.run(ctx, dict(params)))
        except ConnectorError as exc:
            self._journal_failure(journal, exc.message)
            raise
        except LookupError as exc:
            self._journal_failure(journal, str(exc).strip("'\""))
            raise PermanentError(str(exc).strip("'\"")) from None
        except Exception as exc:  # an action's bug fails the step visibly instead of killing the batch
            log.exception("action %s crashed", action)
            self._journal_failure(journal, f"{action} crashed: {exc.__class__.__name__}: {exc}")
            raise PermanentError(f"{action} crashed: {exc.__class__.__name__}: {exc}") from None
        journal.status, journal.output, journal.finished_at = str(StepStatus.DONE), output, self.now()
        self.session.add(journal)
        self.session.commit()
        return output

    # ------------------------------------------------------------ runs
    def load(self, run_id: str) -> RunState | None:
        row = self.session.get(Run, run_id)
        if row is None:
            return None
        run = RunState.from_dict(row.state)
        self._waits[run.id] = self._wait_signature(run)
        return run

    def claim(self, run_ids: list[str]) -> list[str]:
        """Take the runs no live worker holds; returns those now ours (claims expire after claim_seconds)."""
        if not run_ids:
            return []
        now = self.now()
        me = self.services.worker_id
        self.session.execute(
            update(Run)
            .where(
                Run.id.in_(run_ids),
                or_(Run.claimed_until.is_(None), Run.claimed_until < now, Run.claimed_by == me),
            )
            .values(claimed_by=me, claimed_until=now + timedelta(seconds=self.services.claim_seconds))
            .execution_options(synchronize_session=False)
        )
        owned = self.session.execute(
            select(Run.id).where(Run.id.in_(run_ids), Run.claimed_by == self.services.worker_id)
        )
        mine = [r for (r,) in owned]
        self.claimed.update(mine)
        return mine

    def release(self) -> None:
        """Give back every run this host claimed or created (called before the batch's commit)."""
        ids = sorted(self.claimed)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            mine = Run.claimed_by == self.services.worker_id
            self.session.execute(
                update(Run)
                .where(Run.id.in_(chunk), mine)
                .values(claimed_by=None, claimed_until=None, queued_at=None)
                .execution_options(synchronize_session=False)
            )
        self.claimed.clear()

    def recover(self, flow: Flow, run: RunState) -> None:
        """A run found `running` at its action with a `started` journal: a worker died during the call.
        Idempotent actions run again with the same key; at-most-once ones fail the run as `unknown`."""
        if run.status != RunStatus.RUNNING or not run.cursor or run.cursor not in flow.nodes:
            return
        node = flow.node(run.cursor)
        journal = self._step(run.id, run.visit)
        if node.get("type") != "action" or journal is None or journal.status != StepStatus.STARTED:
            return
        if self.registry.action(node["action"]).delivery == Delivery.IDEMPOTENT:
            return
        journal.status = str(StepStatus.UNKNOWN)
        journal.error = UNKNOWN.format(action=node["action"])
        journal.finished_at = self.now()
        self.session.add(journal)
        run.error = f"{node['id']}: {journal.error}"
        transition(run, RunStatus.FAILED)
        self.save(run, None)

    def new_run(
        self,
        flow: Flow,
        subject: Mapping[str, Any],
        trigger: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        event_id: str | None = None,
    ) -> RunState | None:
        """A run row at the flow's start, claimed by this worker, unless `reenroll` forbids it (None)."""
        if not self.may_enroll(flow, subject):
            return None
        run_id = run_id or uuid.uuid4().hex
        if self.session.get(Run, run_id) is not None:
            return None  # this event already started this flow (a repeated drain)
        run = RunState(
            id=run_id,
            flow=flow.key,
            version=flow.version,
            subject=dict(subject),
            trigger=dict(trigger or {}),
            started_at=self.now(),
            cursor=flow.start,
        )
        self._waits[run.id] = None  # a new run has no wait rows: nothing to delete before its first wait
        self._fresh.add(run.id)  # nor journal rows but those this host writes: `_step` need not look
        self.save(run, None)
        row = self.session.get(Run, run_id)
        if row is not None:
            row.trigger_event = event_id
        self.session.flush()
        return run

    def may_enroll(self, flow: Flow, subject: Mapping[str, Any]) -> bool:
        key = primary_key(subject)
        if flow.reenroll == "always" or not key:
            return True
        query = select(Run.id).where(Run.flow_key == flow.key, Run.subject_key == key)
        if flow.reenroll == "after_exit":
            query = query.where(Run.status.in_([str(s) for s in LIVE]))
        return self.session.execute(query.limit(1)).first() is None

    # ------------------------------------------------------------ helpers
    def _context(self, run: RunState, node: Mapping[str, Any], spec: Any, key: str) -> ActionContext:
        if self._http is None:
            self._http = TimeoutSession()
        return ActionContext(
            run=RunInfo(run.id, run.flow, run.version, node["id"], dict(run.subject)),
            idempotency_key=key,
            credentials=self._credentials(spec, node),
            records=self.records if spec.local else ShortReads(self.records, self.session),
            http=self._http,
            clock=self.now,
            logger=logging.getLogger(f"flowright.action.{spec.key}"),
            settings=self.services.settings,
        )

    def _credentials(self, spec: Any, node: Mapping[str, Any]) -> dict[str, Any]:
        name = str(node.get("credential") or "default")
        row = (
            self.session.execute(
                select(Credential).where(Credential.connector == spec.connector, Credential.name == name)
            )
            .scalars()
            .first()
        )
        if row is None:
            if spec.needs_credential:
                raise PermanentError(
                    f"there is no {spec.connector} credential named {name!r}; add it with "
                    f"`flowright credentials put {spec.connector} {name} JSON`"
                )
            return {}
        try:
            return self.services.decrypt(row.ciphertext)
        except CredentialError:
            raise PermanentError(
                f"the {spec.connector} credential {name!r} cannot be decrypted with this instance's secret "
                "key (FLOWRIGHT_SECRET_KEY changed?); store it again with `flowright credentials put`"
            ) from None

    def _journal_failure(self, journal: Step, error: str) -> None:
        journal.status, journal.error, journal.finished_at = str(StepStatus.FAILED), error, self.now()
        self.session.add(journal)
        self.session.commit()

    def _step(self, run_id: str, seq: int) -> Step | None:
        cached = self._steps.get((run_id, seq))
        if cached is None and run_id not in self._fresh:
            cached = (
                self.session.execute(select(Step).where(Step.run_id == run_id, Step.seq == seq))
                .scalars()
                .first()
            )
            if cached is not None:
                self._steps[(run_id, seq)] = cached
        return cached

    def _save_row(self, row: Step) -> None:
        self.session.add(row)
        self._steps[(row.run_id, row.seq)] = row

    def _save_step(self, record: StepRecord) -> None:
        row = self._step(record.run_id, record.seq)
        row = row or Step(run_id=record.run_id, seq=record.seq, node=record.node, status="")
        data = record.to_dict()
        row.node = record.node
        row.type = record.type or row.type
        row.status, row.port, row.target = data["status"], record.port, record.target
        row.output, row.error, row.attempt = ingest._jsonable(record.output), record.error, record.attempt
        row.idempotency_key = record.idempotency_key or row.idempotency_key
        row.at, row.finished_at = record.at, record.finished_at
        self._save_row(row)

    @staticmethod
    def _wait_signature(run: RunState) -> tuple[str, str] | None:
        wait = run.wait or {}
        if run.status == RunStatus.WAITING and wait.get("kind") == "wait_for":
            return str(wait["node"]), str(wait["event"])
        return None

    def _sync_waits(self, run: RunState) -> None:
        want = self._wait_signature(run)
        if self._waits.get(run.id, None) == want and run.id in self._waits:
            return
        self.session.execute(delete(Wait).where(Wait.run_id == run.id))
        if want is not None:
            for key in subject_keys(run.subject.get("contact_id"), run.subject.get("deal_id")):
                self.session.add(
                    Wait(
                        run_id=run.id,
                        event_type=want[1],
                        subject_key=key,
                        node=want[0],
                        expires_at=run.wake_at,
                    )
                )
        self._waits[run.id] = want

    def _emit(self, event: dict[str, Any]) -> None:
        accepted = ingest.accept(self.session, event, self.records)
        if accepted.new:
            self.followups.append(f"e:{accepted.id}")

    def _enroll(self, flow_key: str, subject: Mapping[str, Any]) -> dict[str, Any]:
        flow = self.services.current_flow(self.session, flow_key)
        run = self.new_run(flow, subject, {"enrolled_by": "flow.enroll"})
        if run is None:
            return {"run_id": None, "enrolled": False}
        self.followups.append(f"r:{run.id}")
        return {"run_id": run.id, "enrolled": True}

    def forget(self) -> None:
        """Drop what this host remembered of rows after a rollback."""
        self._steps.clear()
        self._waits.clear()
        self._fresh.clear()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
