"""Fixtures of the durable runtime: a throwaway PostgreSQL 15 cluster beside SQLite, a migrated database
per test, real Redis (tests/conftest.py), a settable clock and a test connector served by a local HTTP
server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from runtime import jobs
from runtime.services import Services
from tests.conftest import REQUIRE_SERVERS, free_port
from tests.durable.support import ProbeServer, make_services

PGBIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, **kw)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL 15 cluster in a temp folder owned by `postgres`; yields a server URL (no database)."""
    problem = None
    if os.geteuid() != 0:
        problem = "PostgreSQL tests need root (to run the server as the postgres user)"
    elif not (PGBIN / "initdb").exists() or not shutil.which("runuser"):
        problem = f"PostgreSQL 15 binaries are not installed in {PGBIN}"
    if problem:
        if REQUIRE_SERVERS:
            pytest.fail(problem)
        pytest.skip(problem)
    root = Path(tempfile.mkdtemp(prefix="fr-pg-"))
    shutil.chown(root, "postgres", "postgres")
    (root / "sock").mkdir()
    shutil.chown(root / "sock", "postgres", "postgres")
    port = free_port()
    data = root / "data"
    _as_postgres(
        str(PGBIN / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    )
    _as_postgres(
        str(PGBIN / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(root / "server.log"),
        "-w",
        "-o",
        f"-p {port} -k {root / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off",
        "start",
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PGBIN / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _fresh_postgres(server: str) -> str:
    name = "fr_" + uuid.uuid4().hex[:12]
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL on each backend (not migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'flowright.db'}"
    return _fresh_postgres(request.getfixturevalue("postgres_server"))


class Clock:
    """A clock the test moves by hand; every process-internal component reads it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **kw: float) -> datetime:
        self.moment += timedelta(**kw)
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def probe() -> Iterator[ProbeServer]:
    server = ProbeServer()
    yield server
    server.close()


@pytest.fixture
def services(database_url: str, redis_url: str, clock: Clock) -> Iterator[Services]:
    services = make_services(database_url, redis_url, clock)
    yield services
    jobs.install(None)
    services.close()
