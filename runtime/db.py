"""The database: one engine per process from `DATABASE_URL` (default: a SQLite file in the instance folder).

SQLite runs in WAL mode with a busy timeout so the web server, workers and the scheduler of one machine
share the file; PostgreSQL is reached through `postgresql+psycopg://`. Migrations are Alembic's, with the
configuration in code (`upgrade`), so `flowright db upgrade` needs no ini file.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, create_engine, event, inspect, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend stores (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def instance_home() -> Path:
    """The instance folder (`FLOWRIGHT_HOME`, default `./.flowright`), created on first use."""
    home = Path(os.environ.get("FLOWRIGHT_HOME") or ".flowright").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{instance_home() / 'flowright.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see make_engine)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default `database_url()`), SQLite tuned for several processes."""
    url = url or database_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # BEGIN IMMEDIATE: a transaction takes the write lock up front and waits for it (busy timeout)
        # instead of failing when a read later turns into a write while another process committed.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database at `url` to `revision` (idempotent: a second run does nothing).
    Returns the revision before and after (before is None for a database that had no schema)."""
    url = _driver_url(url or database_url())
    before = current_revision(url)
    if revision == "head" and before is not None and before == head_revision():
        return before, before  # nothing to do: skip loading Alembic and its migration scripts
    # one line per plug-in otherwise, logged while alembic.command is imported
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from alembic import command

    command.upgrade(alembic_config(url), revision)
    return before, current_revision(url)


def _driver_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def head_revision() -> str:
    """The newest migration's revision, read from the scripts' `revision = ...` lines (the one no other
    names as its down_revision), so a command can check the schema without importing Alembic."""
    found: dict[str, str | None] = {}
    for script in (MIGRATIONS / "versions").glob("*.py"):
        text = script.read_text()
        revision = re.search(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        down = re.search(r"^down_revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        if revision:
            found[revision.group(1)] = down.group(1) if down else None
    heads = set(found) - {d for d in found.values() if d}
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def current_revision(url: str | None = None) -> str | None:
    """The schema revision the database is at (None when it has no schema yet)."""
    url = _driver_url(url or database_url())
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def utcnow() -> datetime:
    return datetime.now(UTC)
