"""A worker killed with SIGKILL in the middle of an action loses nothing and repeats nothing done:
idempotent actions run again with the same idempotency key, at-most-once ones are marked `unknown`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import operations, publish, scheduler
from runtime.models import Run, Step
from runtime.services import Services
from tests.durable.conftest import Clock
from tests.durable.support import ProbeServer, make_services, work

ROOT = Path(__file__).resolve().parents[2]


def three_steps(url: str, middle: str) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": "crash",
        "name": "Crash",
        "subject": "contact",
        "triggers": [{"type": "event", "event": "form.submitted"}],
        "start": "first",
        "nodes": [
            {
                "id": "first",
                "type": "action",
                "action": "probe.call",
                "params": {"url": url, "label": "first"},
                "next": "second",
            },
            {
                "id": "second",
                "type": "action",
                "action": middle,
                "params": {"url": url, "label": "second"},
                "next": "third",
            },
            {
                "id": "third",
                "type": "action",
                "action": "probe.call",
                "params": {"url": url, "label": "third"},
            },
        ],
    }


@pytest.mark.parametrize("middle", ["probe.call", "probe.once"])
def test_worker_killed_mid_action(database_url: str, redis_url: str, probe: ProbeServer, middle: str) -> None:
    clock = Clock(datetime.now(UTC))
    services: Services = make_services(database_url, redis_url, clock)
    try:
        publish.publish(services, "crash", document=three_steps(probe.url, middle))
        operations.post_events(
            services,
            [{"id": "e1", "type": "form.submitted", "subject": {"contact": {"email": "ann@example.com"}}}],
        )
        probe.slow["second"] = 60
        env = {**os.environ, "FLOWRIGHT_CLAIM_SECONDS": "1", "PYTHONPATH": str(ROOT)}
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.durable.worker_main", database_url, redis_url],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = datetime.now(UTC) + timedelta(seconds=30)
            while probe.calls["second"] == 0 and datetime.now(UTC) < deadline:
                probe.entered.wait(0.1)
            assert probe.calls["second"] == 1, "the worker never reached the slow action"
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        probe.slow["second"] = 0

        clock.moment = datetime.now(UTC) + timedelta(minutes=5)  # the dead worker's claim has run out
        scheduler.once(services)  # the reconciler finds the run left `running`
        work(services)

        with Session(services.engine) as session:
            [run] = session.execute(select(Run)).scalars().all()
            steps = {s.node: s for s in session.execute(select(Step).where(Step.run_id == run.id)).scalars()}
        assert probe.calls["first"] == 1  # done before the crash: never again
        if middle == "probe.call":  # idempotent: run again with the same key, then the run goes on
            assert run.status == "completed"
            assert probe.calls["second"] == 2 and probe.calls["third"] == 1
            keys = [key for label, key in probe.keys if label == "second"]
            assert keys[0] == keys[1] == steps["second"].idempotency_key
        else:  # at most once: never silently twice; a person decides
            assert run.status == "failed" and "unknown" in run.error
            assert steps["second"].status == "unknown"
            assert probe.calls["second"] == 1 and probe.calls["third"] == 0
    finally:
        services.close()
