"""What the CLI and the web server ask of the durable runtime: post events, enroll, retry, cancel,
list and show runs, put and get records, store credentials. Each call is one transaction; work for
the workers is queued only after it commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from runtime import dispatch, interpreter, jobs, runviews
from runtime.errors import EventInvalid, EventsInvalid, SubjectInvalid
from runtime.flow import Flow
from runtime.host import DbHost
from runtime.ingest import Accepted, accept, resolve_subject
from runtime.models import Credential, Run
from runtime.run import RunStatus, transition
from runtime.services import Services


class RunBusy(RuntimeError):
    """Another worker is advancing the run right now."""


def post_events(services: Services, events: Iterable[Any]) -> list[Accepted]:
    """Ingest events exactly as the API does; each new one is queued for matching.

    All or nothing: when any event is refused, none is kept and EventsInvalid names every refused one."""
    with Session(services.engine, expire_on_commit=False) as session:
        host = DbHost(services, session)
        accepted, refused = [], []
        for index, event in enumerate(events):
            try:
                accepted.append(accept(session, event, host.records))
            except EventInvalid as exc:
                refused.append((index, exc))
        if refused:
            session.rollback()
            raise EventsInvalid(refused)
        session.commit()
    jobs.push(services.redis, [f"e:{a.id}" for a in accepted if a.new] + host.followups)
    return accepted


def enroll(
    services: Services, key: str, subject: Mapping[str, Any], trigger: Mapping[str, Any] | None = None
) -> str | None:
    """Start a run of the published flow for `subject`, given as an event's subject is (DESIGN §4):
    `{"contact": {"email": ...}}` (upserted by e-mail or phone, as ingestion does), `{"contact_id": N}`
    or `{"deal_id": N}`. A contact or deal flow refuses a subject naming no such record (SubjectInvalid).

    Returns None when the flow's `reenroll` setting refuses the subject."""
    with Session(services.engine, expire_on_commit=False) as session:
        host = DbHost(services, session)
        flow = services.current_flow(session, key)
        run_on = _enrolled_subject(host, flow, subject)
        run = host.new_run(flow, run_on, dict(trigger or {"manual": True}))
        host.claimed.clear()  # leave it unclaimed: a worker takes it from the queue
        if run is not None:
            session.execute(update(Run).where(Run.id == run.id).values(claimed_by=None, claimed_until=None))
        session.commit()
    if run is None:
        return None
    jobs.push(services.redis, [f"r:{run.id}", *host.followups])
    return run.id


def _enrolled_subject(host: DbHost, flow: Flow, subject: Any) -> dict[str, Any]:
    """The run's subject ({"contact_id"[, "deal_id"]}) for what the caller gave, resolved as an event's."""
    if not isinstance(subject, Mapping):
        raise SubjectInvalid('the subject is an object such as {"contact": {"email": "..."}}', missing=False)
    try:
        contact_id, deal_id = resolve_subject(host.records, subject)
    except EventInvalid as exc:
        missing = all(message.startswith("there is no") for _, message in exc.details)
        raise SubjectInvalid(exc.message, exc.details, missing=missing) from None
    run_on = dispatch.subject_for(flow, contact_id, deal_id)
    if run_on is None:
        wanted = (
            '{"deal_id": N}'
            if flow.subject == "deal"
            else '{"contact": {"email": "..."}}, {"contact_id": N} or {"deal_id": N} of a deal with a contact'
        )
        raise SubjectInvalid(f"flow {flow.key!r} runs on a {flow.subject}: give {wanted}", missing=False)
    return run_on


def _claimed(services: Services, session: Session, run_id: str) -> tuple[DbHost, Any]:
    host = DbHost(services, session)
    if session.get(Run, run_id) is None:
        raise LookupError(f"there is no run {run_id}")
    if not host.claim([run_id]):
        raise RunBusy(f"run {run_id} is being advanced by a worker right now; try again in a moment")
    run = host.load(run_id)
    return host, run


def retry(services: Services, run_id: str) -> None:
    """Retry a failed run from its failed step."""
    with Session(services.engine, expire_on_commit=False) as session:
        host, run = _claimed(services, session, run_id)
        if run.status != RunStatus.FAILED:
            raise ValueError(f"run {run_id} is {run.status}; only failed runs can be retried")
        transition(run, RunStatus.RUNNING)
        run.error, run.attempt = None, 0
        host.save(run, None)
        host.release()
        session.commit()
    jobs.push(services.redis, [f"r:{run_id}"])


def cancel(services: Services, run_id: str) -> None:
    with Session(services.engine, expire_on_commit=False) as session:
        host, run = _claimed(services, session, run_id)
        if run.status not in (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.FAILED):
            raise ValueError(f"run {run_id} is {run.status} already")
        interpreter.cancel(run, host, "cancelled by a person")
        host.release()
        session.commit()


def list_runs(
    services: Services, *, flow: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    return runviews.list_runs(services.engine, flow=flow, status=status, limit=limit)


def show_run(services: Services, run_id: str) -> dict[str, Any]:
    return runviews.show_run(services.engine, run_id)


run_summary = runviews.run_summary  # the columns of a run list row, shared with runtime.runlist


def put_record(services: Services, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    with Session(services.engine, expire_on_commit=False) as session:
        host = DbHost(services, session)
        record = host.records.put(kind, fields)
        session.commit()
    jobs.push(services.redis, host.followups)
    return record


def get_record(services: Services, kind: str, key: Any) -> dict[str, Any] | None:
    with Session(services.engine) as session:
        host = DbHost(services, session)
        if kind == "contact":
            return host.records.find_contact(key)
        return host.records.get(kind, key)


def put_pipeline(services: Services, key: str, stages: list[str]) -> dict[str, Any]:
    with Session(services.engine, expire_on_commit=False) as session:
        result = DbHost(services, session).records.put_pipeline(key, stages)
        session.commit()
    return result


def put_credential(services: Services, connector: str, name: str, values: Mapping[str, Any]) -> None:
    services.registry.connector(connector)  # an unknown connector fails with the list of known ones
    with Session(services.engine) as session:
        row = (
            session.execute(
                select(Credential).where(Credential.connector == connector, Credential.name == name)
            )
            .scalars()
            .first()
        )
        row = row or Credential(connector=connector, name=name, ciphertext="")
        row.ciphertext, row.updated_at = services.encrypt(values), services.now()
        session.add(row)
        session.commit()
