"""RQ jobs, micro-batched (DESIGN §5 Throughput): ingestion and wake-ups append ids to one Redis list,
and a coalesced `drain` job takes up to `batch_size` items at once.

Items: `e:<event id>` (match an ingested event), `r:<run id>` (advance a running run or wake a due one),
`d:<event id>:<run id>` (offer an event to a run another worker held). A drain job is enqueued only
when the "drain queued" flag is not set, so there is at most one waiting drain job however many items
arrive. Redis is transport only: every item stands for a row that says the same thing, and the
scheduler's reconciler pushes it again if Redis lost it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from redis import Redis
from rq import Queue
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from runtime import dispatch, interpreter
from runtime.host import DbHost
from runtime.models import Event
from runtime.run import RunStatus, transition
from runtime.services import Services

log = logging.getLogger("flowright.jobs")
QUEUE = "flowright"
WORK_KEY = "flowright:work"
LATER_KEY = "flowright:later"
FLAG_KEY = "flowright:drain-queued"
FLAG_SECONDS = 60  # a drain job that vanished (Redis flushed, worker killed) is replaced after this
DRAIN_SECONDS = 10  # one drain job's time budget before it hands over to a fresh one
SQLITE_GAP = 0.1  # seconds between two batches on SQLite at most (see `drain`)
RETRY_SECONDS = 2.0  # a batch that met a busy or unreachable database is offered again after this

_services: Services | None = None


def install(services: Services | None) -> None:
    """Set the services this process's jobs use (a worker, a test with its own clock and registry)."""
    global _services
    _services = services


def current() -> Services:
    global _services
    if _services is None:
        _services = Services.from_env()
    return _services


def queue(redis: Redis) -> Queue:
    return Queue(QUEUE, connection=redis)


def push(redis: Redis, items: Iterable[str]) -> None:
    """Append work items and make sure a drain job is queued."""
    items = list(items)
    if not items:
        return
    pipe = redis.pipeline()
    pipe.rpush(WORK_KEY, *items)
    pipe.set(FLAG_KEY, "1", nx=True, ex=FLAG_SECONDS)
    _, flagged = pipe.execute()
    if flagged:
        queue(redis).enqueue("runtime.jobs.drain", result_ttl=0, failure_ttl=86400, job_timeout=600)


def push_later(redis: Redis, items: Iterable[str], delay: float = 1.0) -> None:
    items = list(items)
    if items:
        redis.zadd(LATER_KEY, dict.fromkeys(items, time.time() + delay))


def kick(redis: Redis) -> int:
    """Move due `later` items to the work list and queue a drain if work waits without one (scheduler)."""
    due = [i.decode() for i in redis.zrangebyscore(LATER_KEY, 0, time.time())]
    if due:
        redis.zrem(LATER_KEY, *due)
    if due:
        push(redis, due)
    elif redis.llen(WORK_KEY) and redis.set(FLAG_KEY, "1", nx=True, ex=FLAG_SECONDS):
        queue(redis).enqueue("runtime.jobs.drain", result_ttl=0, failure_ttl=86400, job_timeout=600)
    return len(due)


def drain(limit: int | None = None) -> int:
    """The RQ job: process batches until the list is empty or the time budget is spent."""
    services = current()
    redis = services.redis
    redis.delete(FLAG_KEY)
    limit = limit or services.batch_size
    started, done = time.monotonic(), 0
    while True:
        raw = redis.lpop(WORK_KEY, limit)
        if not raw:
            break
        items = [i.decode() if isinstance(i, bytes) else str(i) for i in raw]
        _fan_out(redis)
        batch_began = time.monotonic()
        process(services, items)
        done += len(items)
        if services.engine.dialect.name == "sqlite":
            # SQLite has one write lock and no queue for it: a writer waiting in its busy handler retries
            # every 100 ms at most, so a gap lets the web server and the scheduler in between batches.
            time.sleep(min(SQLITE_GAP, time.monotonic() - batch_began))
        if time.monotonic() - started > DRAIN_SECONDS:
            _fan_out(redis)
            break
    return done


def _fan_out(redis: Redis) -> None:
    """More work is waiting behind this batch: queue one more drain job (at most one waits at a time),
    so that every idle worker joins in on a backlog instead of one drain job taking it all."""
    if redis.llen(WORK_KEY) and redis.set(FLAG_KEY, "1", nx=True, ex=FLAG_SECONDS):
        queue(redis).enqueue("runtime.jobs.drain", result_ttl=0, failure_ttl=86400, job_timeout=600)


def process(services: Services, items: list[str]) -> None:
    """One batch in one session: events first (they may start runs), then deliveries, then runs."""
    events = list(dict.fromkeys(i[2:] for i in items if i.startswith("e:")))
    runs = list(dict.fromkeys(i[2:] for i in items if i.startswith("r:")))
    deliveries = [tuple(i[2:].split(":", 1)) for i in items if i.startswith("d:")]
    with Session(services.engine, expire_on_commit=False) as session:
        host = DbHost(services, session)
        try:
            for event_id in events:
                _guard(host, dispatch.handle_event, event_id)
            for event_id, run_id in deliveries:
                _guard(host, _deliver, event_id, run_id)
            _advance_runs(host, runs)
            host.release()
            session.commit()
        except OperationalError:
            # The database is busy or went away: nothing about these items is wrong, so none is failed
            # or marked processed. What was committed stays; the batch comes again in a few seconds.
            log.warning("database unavailable; %d work items will be retried", len(items), exc_info=True)
            session.rollback()
            push_later(services.redis, items, delay=RETRY_SECONDS)
            return
        finally:
            host.close()
        push(services.redis, host.followups)
        push_later(services.redis, host.later)


def _deliver(host: DbHost, event_id: str, run_id: str) -> None:
    event = host.session.get(Event, event_id)
    if event is None:
        return
    if not host.claim([run_id]):
        host.later.append(f"d:{event_id}:{run_id}")
        return
    dispatch.deliver_to(host, event, run_id)


def _advance_runs(host: DbHost, run_ids: list[str]) -> None:
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        for run_id in host.claim(chunk):
            _guard(host, advance_run, run_id)


def advance_run(host: DbHost, run_id: str) -> None:
    """Move a claimed run on: wake it if its timer is due, else continue it if it is running."""
    run = host.load(run_id)
    if run is None:
        return
    flow = host.services.flow(host.session, run.flow, run.version)
    host.recover(flow, run)
    if run.status == RunStatus.WAITING and run.wake_at is not None and run.wake_at <= host.now():
        interpreter.on_timer(flow, run, host)
    elif run.status == RunStatus.RUNNING:
        interpreter.advance(flow, run, host)


def _guard(host: DbHost, fn: Any, *args: Any) -> None:
    """Run one item; a crash rolls the batch back to its last commit and fails the run it was about,
    so one poisoned item cannot block the queue. Items rolled back come again through the reconciler."""
    try:
        fn(host, *args)
    except OperationalError:
        raise  # transient (locked, disconnected): the whole batch is retried, see `process`
    except Exception as exc:
        log.exception("work item %s failed", args)
        host.session.rollback()
        host.forget()
        run_id = args[-1] if fn is not dispatch.handle_event else None
        if run_id:
            _fail(host, str(run_id), f"internal error: {exc.__class__.__name__}: {exc}")
        else:
            event = host.session.get(Event, str(args[0]))
            if event is not None:
                event.processed_at = host.now()
        host.session.commit()


def _fail(host: DbHost, run_id: str, error: str) -> None:
    run = host.load(run_id)
    if run is None or run.status not in (RunStatus.RUNNING, RunStatus.WAITING):
        return
    run.error = error
    transition(run, RunStatus.FAILED)
    host.save(run, None)


def enqueue_runs(redis: Redis, run_ids: Iterable[str]) -> None:
    push(redis, [f"r:{r}" for r in run_ids])


def enqueue_events(redis: Redis, event_ids: Iterable[str]) -> None:
    push(redis, [f"e:{e}" for e in event_ids])
