"""Workers killed with SIGKILL in the middle of a busy batch, one of several runs in flight: after the
reconciler, every run finishes exactly once, every at-most-once send happened exactly once, and only
the step the worker died in is repeated (an idempotent one, with the same idempotency key).

Real worker processes (`tests.durable.worker_main`), a real Redis, both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import operations, publish, scheduler
from runtime.models import Run, Step
from runtime.services import Services
from tests.durable.conftest import Clock
from tests.durable.support import ProbeServer, make_services, work

ROOT = Path(__file__).resolve().parents[2]


def onboarding(url: str) -> dict[str, Any]:
    """A welcome mail (at most once), a CRM sync (idempotent), a follow-up mail (at most once)."""

    def call(node: str, action: str, after: str | None) -> dict[str, Any]:
        spec = {
            "id": node,
            "type": "action",
            "action": action,
            "params": {"url": url, "label": node + ":{{ contact.email }}"},
        }
        return {**spec, "next": after} if after else spec

    return {
        "format": "flowright/v1",
        "key": "onboarding",
        "name": "Onboarding",
        "subject": "contact",
        "triggers": [{"type": "event", "event": "form.submitted"}],
        "start": "welcome",
        "nodes": [
            call("welcome", "probe.once", "sync"),
            call("sync", "probe.call", "follow_up"),
            call("follow_up", "probe.once", None),
        ],
    }


def start_worker(database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLOWRIGHT_CLAIM_SECONDS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.durable.worker_main", database_url, redis_url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def holder_pid(services: Services, email: str) -> int:
    """The pid of the worker holding the run of `email` (claims are named host:pid:nonce)."""
    contact = operations.get_record(services, "contact", email)
    assert contact is not None
    with Session(services.engine) as session:
        run = session.execute(select(Run).where(Run.contact_id == contact["id"])).scalars().one()
        assert run.claimed_by, "the run is not held by a worker"
        return int(run.claimed_by.split(":")[1])


def kill_mid_run(
    database_url: str, redis_url: str, probe: ProbeServer, workers: int, contacts: int, slow: str
) -> Services:
    """Post one event per contact, run `workers` worker processes, SIGKILL the one inside `slow`'s
    sync call, let the others finish, then recover with the scheduler's reconciler and a worker."""
    clock = Clock(datetime.now(UTC))
    services = make_services(database_url, redis_url, clock)
    publish.publish(services, "onboarding", document=onboarding(probe.url))
    probe.slow[f"sync:{slow}"] = 60
    operations.post_events(
        services,
        [
            {"id": f"form-{i}", "type": "form.submitted", "subject": {"contact": {"email": f"c{i}@ex.com"}}}
            for i in range(contacts)
        ],
    )
    procs = [start_worker(database_url, redis_url) for _ in range(workers)]
    try:
        wait_until(lambda: probe.calls[f"sync:{slow}"] == 1, "the slow sync call")
        victim = holder_pid(services, slow)
        os.kill(victim, signal.SIGKILL)
        for proc in procs:
            if proc.pid != victim:
                proc.wait(timeout=120)  # a survivor drains what it can and exits (burst)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
    probe.slow.clear()
    clock.moment = datetime.now(UTC) + timedelta(minutes=5)  # the dead worker's claims have run out
    scheduler.once(services)
    work(services)
    return services


def check_exactly_once(services: Services, probe: ProbeServer, contacts: int, slow: str) -> None:
    with Session(services.engine) as session:
        runs = list(session.execute(select(Run)).scalars())
        steps = list(session.execute(select(Step)).scalars())
    assert len(runs) == contacts  # the event the dead worker held started nothing twice
    assert {r.status for r in runs} == {"completed"}
    per_node = Counter((s.run_id, s.node) for s in steps)
    assert set(per_node.values()) == {1}  # one journal row per step: no step ran as a second visit
    assert {s.status for s in steps} == {"done"}
    emails = [f"c{i}@ex.com" for i in range(contacts)]
    assert {e: probe.calls[f"welcome:{e}"] for e in emails} == dict.fromkeys(emails, 1)
    assert {e: probe.calls[f"follow_up:{e}"] for e in emails} == dict.fromkeys(emails, 1)
    repeated = {e: probe.calls[f"sync:{e}"] for e in emails if probe.calls[f"sync:{e}"] != 1}
    assert repeated == {slow: 2}  # only the call the worker died in, again with the same key
    keys = [key for label, key in probe.keys if label == f"sync:{slow}"]
    assert len(set(keys)) == 1


def test_one_worker_killed_in_a_batch_of_runs(database_url: str, redis_url: str, probe: ProbeServer) -> None:
    services = kill_mid_run(database_url, redis_url, probe, workers=1, contacts=8, slow="c3@ex.com")
    try:
        check_exactly_once(services, probe, 8, "c3@ex.com")
    finally:
        services.close()


def test_one_of_two_workers_killed_while_the_other_goes_on(
    database_url: str, redis_url: str, probe: ProbeServer
) -> None:
    services = kill_mid_run(database_url, redis_url, probe, workers=2, contacts=30, slow="c12@ex.com")
    try:
        check_exactly_once(services, probe, 30, "c12@ex.com")
    finally:
        services.close()
