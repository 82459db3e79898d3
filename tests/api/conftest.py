"""API fixtures: the real app on a migrated SQLite file (PostgreSQL where a test asks for `pg_services`)
and the session's real Redis; clients carrying a Bearer token of each role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime import access, jobs
from runtime.services import Services
from tests.durable.conftest import Clock, _fresh_postgres, postgres_server  # noqa: F401  (fixture)
from tests.durable.support import make_services, work


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite by default; a module sets `pytestmark = pytest.mark.parametrize(...)` to add postgres."""
    if request.param == "postgres":
        return _fresh_postgres(request.getfixturevalue("postgres_server"))
    return f"sqlite:///{tmp_path / 'flowright.db'}"


@pytest.fixture
def services(
    database_url: str, redis_url: str, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    monkeypatch.setenv("FLOWRIGHT_HOME", str(tmp_path / "home"))
    found = make_services(database_url, redis_url, clock)
    yield found
    jobs.install(None)
    found.close()


@pytest.fixture
def app(services: Services) -> Flask:
    from builder.app import create_app

    return create_app({"SERVICES": services, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token_client(app: Flask, services: Services, role: str, kind: str = "api") -> FlaskClient:
    """A test client that sends `Authorization: Bearer <a new token of this role>` on every request."""
    _, secret = access.create_token(services, role, kind=kind, name=f"test {role}")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


@pytest.fixture
def admin(app: Flask, services: Services) -> FlaskClient:
    return token_client(app, services, "admin")


@pytest.fixture
def editor(app: Flask, services: Services) -> FlaskClient:
    return token_client(app, services, "editor")


@pytest.fixture
def viewer(app: Flask, services: Services) -> FlaskClient:
    return token_client(app, services, "viewer")


@pytest.fixture
def ingest(app: Flask, services: Services) -> FlaskClient:
    return token_client(app, services, "viewer", kind="ingest")


def drain(services: Services) -> None:
    """Run every queued job in this process (what a worker does)."""
    work(services)


def error_of(response: Any) -> dict[str, Any]:
    """The DESIGN §8 error body, checked for shape."""
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert all(set(d) == {"path", "message"} for d in error["details"]), error
    return dict(error)
