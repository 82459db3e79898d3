"""The scheduler: wakes due runs, fires schedule / date / segment triggers, and reconciles what a dead
worker or a flushed Redis left behind. Several may run; a lease row lets one act at a time.

Due timers are claimed in batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and queued as `r:` items;
the loop sleeps until the earliest `wake_at`, at most a second. Cron slots are computed by APScheduler's
CronTrigger in the flow's timezone. `tick(services, everything=True)` is `flowright scheduler --once`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from runtime import dispatch, interpreter, jobs
from runtime.conditions import Clock, evaluate
from runtime.db import is_postgres
from runtime.durations import iso, parse_duration, to_datetime
from runtime.flow import Flow
from runtime.host import DbHost
from runtime.models import Contact, Deal, Event, FlowVersion, Lease, Run, TriggerIndex, TriggerMark
from runtime.records import as_dict
from runtime.run import RunStatus
from runtime.services import Services

log = logging.getLogger("flowright.scheduler")
BATCH = 1000
REQUEUE_AFTER = timedelta(minutes=2)  # a queued item not taken by then is queued again
GRACE = timedelta(seconds=30)  # how long a run may sit `running` unclaimed before the reconciler acts
LEASE_SECONDS = 15
DATE_CATCH_UP = timedelta(days=7)  # a date trigger missed (scheduler down) still fires within this
CHUNK = 500
CHUNK_ATTEMPTS = 3
OBJECTS: dict[str, Any] = {"contact": Contact, "deal": Deal}


# ---------------------------------------------------------------- the lease


def acquire_lease(services: Services, holder: str, name: str = "scheduler") -> bool:
    """True when `holder` holds (or just took) the lease; it lasts LEASE_SECONDS unless renewed."""
    now = services.now()
    until = now + timedelta(seconds=LEASE_SECONDS)
    with Session(services.engine) as session:
        taken = session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
            .values(holder=holder, expires_at=until)
        ).rowcount
        if not taken:
            try:
                with session.begin_nested():
                    session.add(Lease(name=name, holder=holder, expires_at=until))
                taken = 1
            except IntegrityError:
                taken = 0
        session.commit()
    return bool(taken)


def release_lease(services: Services, holder: str, name: str = "scheduler") -> None:
    with Session(services.engine) as session:
        session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=services.now() - timedelta(seconds=1))
        )
        session.commit()


# ---------------------------------------------------------------- timers and the reconciler


def claim_due(services: Services, limit: int = BATCH) -> int:
    """Queue every run whose wake_at has come, in batches; returns how many were queued.

    Each batch is claimed by one UPDATE ... RETURNING (its rows locked with SKIP LOCKED on PostgreSQL;
    SQLite transactions are serial), so schedulers running side by side never queue a run twice."""
    total = 0
    while True:
        now = services.now()
        with Session(services.engine) as session:
            due = (
                select(Run.id)
                .where(
                    Run.status == str(RunStatus.WAITING),
                    Run.wake_at <= now,
                    or_(Run.queued_at.is_(None), Run.queued_at < now - REQUEUE_AFTER),
                )
                .order_by(Run.wake_at)
                .limit(limit)
            )
            if is_postgres(services.engine):
                due = due.with_for_update(skip_locked=True)
            ids = list(
                session.execute(
                    update(Run)
                    .where(Run.id.in_(due.scalar_subquery()))
                    .values(queued_at=now)
                    .returning(Run.id)
                    .execution_options(synchronize_session=False)
                ).scalars()
            )
            session.commit()
        jobs.enqueue_runs(services.redis, ids)
        total += len(ids)
        if len(ids) < limit:
            return total


def next_wake(services: Services) -> datetime | None:
    with Session(services.engine) as session:
        return session.execute(
            select(func.min(Run.wake_at)).where(Run.status == str(RunStatus.WAITING))
        ).scalar()


def reconcile(services: Services) -> int:
    """Queue again what Redis may have lost: runs left `running` by a dead worker (their claim ran out)
    and events never matched. Also moves `later` items and restarts a vanished drain job."""
    now = services.now()
    with Session(services.engine) as session:
        left = select(Run.id).where(
            Run.status == str(RunStatus.RUNNING),
            Run.updated_at < now - GRACE,
            or_(Run.claimed_until.is_(None), Run.claimed_until < now),
            or_(Run.queued_at.is_(None), Run.queued_at < now - REQUEUE_AFTER),
        )
        if is_postgres(services.engine):
            left = left.with_for_update(skip_locked=True)
        runs = list(
            session.execute(
                update(Run)
                .where(Run.id.in_(left.scalar_subquery()))
                .values(queued_at=now)
                .returning(Run.id)
                .execution_options(synchronize_session=False)
            ).scalars()
        )
        events = list(
            session.execute(
                select(Event.id)
                .where(Event.processed_at.is_(None), Event.received_at < now - GRACE)
                .limit(10_000)
            ).scalars()
        )
        session.commit()
    jobs.push(services.redis, [f"r:{r}" for r in runs] + [f"e:{e}" for e in events])
    jobs.kick(services.redis)
    return len(runs) + len(events)


# ---------------------------------------------------------------- trigger sweeps


def _triggers(session: Session, kind: str) -> list[TriggerIndex]:
    return list(session.execute(select(TriggerIndex).where(TriggerIndex.kind == kind)).scalars())


def _ids(session: Session, model: Any, after: int) -> list[int]:
    return list(
        session.execute(select(model.id).where(model.id > after).order_by(model.id).limit(CHUNK)).scalars()
    )


def _each_chunk(services: Services, model: Any, work: Callable[[DbHost, list[int]], int]) -> int:
    """Call `work` on every record id of `model`, one transaction per chunk, queueing its follow-ups.

    Sweeps may run side by side (`scheduler --once` beside the lease holder): the trigger marks'
    unique key lets one of them fire a record; the other's chunk fails on it and is done again, and
    then sees the mark."""
    total, after = 0, 0
    while True:
        for attempt in range(CHUNK_ATTEMPTS):
            with Session(services.engine, expire_on_commit=False) as session:
                ids = _ids(session, model, after)
                if not ids:
                    return total
                host = DbHost(services, session)
                try:
                    started = work(host, ids)
                    host.release()
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    host.forget()
                    if attempt == CHUNK_ATTEMPTS - 1:
                        raise
                    continue
            break
        total += started
        jobs.push(services.redis, host.followups)
        after = ids[-1]


def sweep_segments(services: Services) -> int:
    """Check every segment trigger against every record, so time-based conditions fire."""
    started = 0
    with Session(services.engine) as session:
        triggers = _triggers(session, "segment")
    for trigger in triggers:
        flow = services.flow_cached(trigger.flow_key, trigger.version)
        model = OBJECTS["deal" if flow.subject == "deal" else "contact"]

        def work(host: DbHost, ids: list[int], trigger: TriggerIndex = trigger, model: Any = model) -> int:
            return sum(dispatch.check_segment(host, trigger, *_subject_ids(host, model, i)) for i in ids)

        started += _each_chunk(services, model, work)
    return started


def _subject_ids(host: DbHost, model: Any, record_id: int) -> tuple[int | None, int | None]:
    if model is Deal:
        deal = host.session.get(Deal, record_id)
        return (deal.contact_id if deal else None), record_id
    return record_id, None


def fire_dates(services: Services) -> int:
    """`date` triggers: once per record per date value, at `at` local time on date + offset."""
    started = 0
    with Session(services.engine) as session:
        triggers = _triggers(session, "date")
    for trigger in triggers:
        flow = services.flow_cached(trigger.flow_key, trigger.version)
        kind = str(trigger.spec.get("object") or flow.subject)
        model = OBJECTS[kind]

        def work(
            host: DbHost,
            ids: list[int],
            trigger: TriggerIndex = trigger,
            flow: Flow = flow,
            model: Any = model,
            kind: str = kind,
        ) -> int:
            return sum(_fire_date(host, flow, trigger, kind, model, i) for i in ids)

        started += _each_chunk(services, model, work)
    return started


def date_moment(value: Any, spec: dict[str, Any], flow: Flow) -> datetime | None:
    """When a date trigger fires for a record's date value (None when the value is not a date)."""
    moment = to_datetime(value, flow.timezone)
    if moment is None:
        return None
    local = moment.astimezone(flow.timezone)
    if spec.get("offset"):
        local = parse_duration(spec["offset"]).add_to(local, flow.timezone).astimezone(flow.timezone)
    hour, minute = (int(p) for p in str(spec.get("at") or "09:00").split(":")[:2])
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _fire_date(host: DbHost, flow: Flow, trigger: TriggerIndex, kind: str, model: Any, record_id: int) -> int:
    record = as_dict(host.session.get(model, record_id))
    value = record.get(str(trigger.spec.get("field")))
    when = date_moment(value, dict(trigger.spec), flow)
    now = host.now()
    if when is None or when > now or now - when > DATE_CATCH_UP:
        return 0
    subject_key, mark_value = f"{kind}:{record_id}", str(value)[:60]
    if _marked(host.session, flow.key, trigger.position, subject_key, mark_value):
        return 0
    host.session.add(
        TriggerMark(
            flow_key=flow.key, position=trigger.position, subject_key=subject_key, value=mark_value, at=now
        )
    )
    contact_id, deal_id = (record.get("contact_id"), record_id) if kind == "deal" else (record_id, None)
    subject = dispatch.subject_for(flow, contact_id, deal_id)
    if subject is None:
        return 0
    run = host.new_run(flow, subject, {"date": value, "field": trigger.spec.get("field")})
    if run is None:
        return 0
    interpreter.advance(flow, run, host)
    return 1


def _marked(session: Session, flow_key: str, position: int, subject_key: str, value: str) -> bool:
    return (
        session.execute(
            select(TriggerMark.id).where(
                TriggerMark.flow_key == flow_key,
                TriggerMark.position == position,
                TriggerMark.subject_key == subject_key,
                TriggerMark.value == value,
            )
        ).first()
        is not None
    )


def fire_schedules(services: Services) -> int:
    """`schedule` triggers: each cron slot that came since the last one fired starts its runs once."""
    started = 0
    with Session(services.engine) as session:
        triggers = _triggers(session, "schedule")
    for trigger in triggers:
        flow = services.flow_cached(trigger.flow_key, trigger.version)
        started += _fire_schedule(services, flow, trigger)
    return started


def _fire_schedule(services: Services, flow: Flow, trigger: TriggerIndex) -> int:
    now = services.now()
    cron = CronTrigger.from_crontab(str(trigger.spec["cron"]), timezone=flow.timezone)
    with Session(services.engine, expire_on_commit=False) as session:
        last = session.execute(
            select(func.max(TriggerMark.at)).where(
                TriggerMark.flow_key == flow.key,
                TriggerMark.position == trigger.position,
                TriggerMark.subject_key == "schedule",
            )
        ).scalar()
        if last is None:
            last = (
                session.execute(
                    select(FlowVersion.created_at).where(
                        FlowVersion.flow_key == flow.key, FlowVersion.version == trigger.version
                    )
                ).scalar()
                or now
            )
        slot = cron.get_next_fire_time(None, last.astimezone(flow.timezone) + timedelta(seconds=1))
        if slot is None or slot > now:
            return 0
        session.add(
            TriggerMark(
                flow_key=flow.key, position=trigger.position, subject_key="schedule", value=iso(slot), at=slot
            )
        )
        try:
            session.commit()
        except IntegrityError:  # another scheduler's pass fired this slot a moment ago
            return 0
    for_each = trigger.spec.get("for_each")
    if not for_each:
        with Session(services.engine, expire_on_commit=False) as session:
            host = DbHost(services, session)
            run = host.new_run(flow, {}, {"schedule": iso(slot)})
            if run is not None:
                interpreter.advance(flow, run, host)
            host.release()
            session.commit()
        jobs.push(services.redis, host.followups)
        return 1
    kind = str(for_each.get("object") or flow.subject)
    model = OBJECTS[kind]

    def work(host: DbHost, ids: list[int]) -> int:
        count = 0
        for record_id in ids:
            record = as_dict(host.session.get(model, record_id))
            scope = {kind: record, "now": host.now()}
            if for_each.get("where") and not evaluate(
                for_each["where"], scope, Clock(host.now(), flow.timezone)
            ):
                continue
            contact_id, deal_id = (
                (record.get("contact_id"), record_id) if kind == "deal" else (record_id, None)
            )
            subject = dispatch.subject_for(flow, contact_id, deal_id)
            run = host.new_run(flow, subject, {"schedule": iso(slot)}) if subject is not None else None
            if run is not None:
                interpreter.advance(flow, run, host)
                count += 1
        return count

    return _each_chunk(services, model, work)


# ---------------------------------------------------------------- the process


SWEEPS: dict[str, tuple[Callable[[Services], int], float]] = {
    "reconcile": (reconcile, 5.0),
    "schedules": (fire_schedules, 20.0),
    "dates": (fire_dates, 60.0),
    "segments": (sweep_segments, 300.0),
}


@dataclass
class Scheduler:
    services: Services
    holder: str = ""
    last_run: dict[str, float] = field(default_factory=dict)
    stopped: bool = False

    def __post_init__(self) -> None:
        self.holder = self.holder or self.services.worker_id

    def tick(self, everything: bool = False) -> dict[str, int]:
        """One pass: due timers always; each sweep when its interval passed (or `everything`).

        A regular pass needs the lease. `everything` (`scheduler --once`) runs even while another
        scheduler holds it: claiming timers is one atomic update, trigger marks are unique and work
        items are idempotent, so a pass beside the lease holder starts nothing twice."""
        if not acquire_lease(self.services, self.holder) and not everything:
            return {}
        done = {"timers": claim_due(self.services)}
        for name, (sweep, every) in SWEEPS.items():
            if everything or time.monotonic() - self.last_run.get(name, -1e9) >= every:
                self.last_run[name] = time.monotonic()
                try:
                    done[name] = sweep(self.services)
                except Exception:
                    log.exception("scheduler sweep %s failed", name)
        return done

    def run_forever(self, stop: Callable[[], bool]) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        background = BackgroundScheduler()
        for name, (sweep, every) in SWEEPS.items():
            background.add_job(
                self._leased(sweep),
                "interval",
                seconds=every,
                id=name,
                coalesce=True,
                max_instances=1,
                next_run_time=datetime.now().astimezone(),
            )
        background.start()
        try:
            while not stop() and not self.stopped:
                if acquire_lease(self.services, self.holder):
                    claim_due(self.services)
                self._sleep(self._pause(), stop)
        finally:
            self.stopped = True
            background.shutdown(wait=False)
            release_lease(self.services, self.holder)

    def stop(self) -> None:
        """Take no more passes and give the lease up, so a standby takes over at once."""
        self.stopped = True
        release_lease(self.services, self.holder)

    def _leased(self, sweep: Callable[[Services], int]) -> Callable[[], None]:
        def job() -> None:
            if not self.stopped and acquire_lease(self.services, self.holder):
                try:
                    sweep(self.services)
                except Exception:
                    log.exception("scheduler sweep failed")

        return job

    def _sleep(self, seconds: float, stop: Callable[[], bool]) -> None:
        """Sleep, waking early when asked to stop (so `up` stops within a fraction of a second)."""
        deadline = time.monotonic() + seconds
        while not stop() and not self.stopped and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _pause(self) -> float:
        wake = next_wake(self.services)
        if wake is None:
            return 1.0
        return max(0.02, min(1.0, (wake - self.services.now()).total_seconds()))


def lease_holder(services: Services, name: str = "scheduler") -> str | None:
    """Who holds the lease now (None when nobody does)."""
    with Session(services.engine) as session:
        row = session.get(Lease, name)
        if row is None or row.expires_at < services.now():
            return None
        return row.holder


def once(services: Services) -> dict[str, int]:
    """`flowright scheduler --once`: one pass of everything, beside a running scheduler if there is one;
    the lease, if this pass took it, is given back at the end."""
    scheduler = Scheduler(services)
    try:
        return scheduler.tick(everything=True)
    finally:
        release_lease(services, scheduler.holder)
