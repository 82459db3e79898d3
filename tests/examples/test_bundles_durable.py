"""Bundles on the durable runtime (real SQLite, real Redis, RQ jobs in-process): the re-enrolment
policies the library relies on behave as the bundles' descriptions say."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from connectors.registry import default_registry
from runtime import jobs, operations, publish
from runtime.bundles import find_bundle
from runtime.db import make_engine, upgrade
from runtime.models import Run, Step
from runtime.services import Services
from tests.durable.support import work

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def services(tmp_path: Path, redis_url: str) -> Iterator[Services]:
    url = f"sqlite:///{tmp_path / 'flowright.db'}"
    upgrade(url)
    services = Services(engine=make_engine(url), redis=Redis.from_url(redis_url),
                        registry=default_registry(), clock=lambda: START,
                        settings={"public_url": "http://localhost:5000"})
    jobs.install(services)
    yield services
    jobs.install(None)
    services.close()


def answer(event_id: str, readiness: str) -> dict[str, Any]:
    return {"id": event_id, "type": "form.submitted", "subject": {"contact": {"email": "jonas@example.com"}},
            "data": {"form": "readiness", "readiness": readiness}}


def runs(services: Services) -> list[tuple[Run, list[str]]]:
    with Session(services.engine) as session:
        rows = list(session.execute(select(Run).order_by(col(Run.started_at), col(Run.id))).scalars())
        steps = select(col(Step.node)).order_by(col(Step.seq))
        paths = [list(session.execute(steps.where(col(Step.run_id) == r.id)).scalars()) for r in rows]
    return list(zip(rows, paths, strict=True))


def publish_readiness(services: Services, reenroll: str | None = None) -> None:
    [flow] = find_bundle("readiness-triage").resolve()
    if reenroll is not None:
        flow["settings"]["reenroll"] = reenroll
    publish.publish(services, flow["key"], document=flow)


def test_a_new_survey_answer_replaces_the_running_track(services: Services) -> None:
    publish_readiness(services)
    operations.post_events(services, [answer("a1", "needs_time")])
    work(services)
    [(first, path)] = runs(services)
    assert (first.status, first.cursor) == ("waiting", "renurture_wait")
    assert path == ["route", "mark_needs_time", "reset_count", "renurture_wait"]

    operations.post_events(services, [answer("a2", "in a year or two")])
    work(services)
    (old, _), (new, new_path) = runs(services)
    assert (old.id, old.status, old.exit_reason) == (first.id, "exited", "goal")
    assert new.status == "completed" and new_path == ["route", "ask_again_task"]


def test_with_after_exit_the_new_answer_would_be_lost(services: Services) -> None:
    """Why the bundle says `always`: a run starts before the event is offered to the live runs, so
    under `after_exit` the old run is still live when the new answer arrives and no new run starts."""
    publish_readiness(services, reenroll="after_exit")
    operations.post_events(services, [answer("a1", "needs_time")])
    work(services)
    operations.post_events(services, [answer("a2", "in a year or two")])
    work(services)
    [(only, _)] = runs(services)
    assert (only.status, only.exit_reason) == ("exited", "goal")
