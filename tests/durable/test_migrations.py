"""`flowright db upgrade` on an empty database, and again on a migrated one, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from runtime.db import make_engine, upgrade

TABLES = {
    "flow",
    "flow_version",
    "run",
    "step",
    "wait",
    "event",
    "trigger_index",
    "contact",
    "deal",
    "pipeline",
    "stage",
    "task",
    "activity",
    "user",
    "team",
    "team_member",
    "credential",
    "counter",
    "lease",
}


def test_upgrade_creates_every_table_and_runs_twice(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    engine = make_engine(database_url)
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) >= TABLES
    indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("wait")}
    assert ("event_type", "subject_key") in indexes
    engine.dispose()
