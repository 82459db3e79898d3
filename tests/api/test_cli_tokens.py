"""`flowright tokens create|list|revoke` and the first admin of `flowright up`, against the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from builder.cli import main
from runtime import access
from runtime.services import Services


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, redis_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)


def test_tokens_create_list_revoke(env: None, app: Flask, services: Services) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["tokens", "create", "--role", "editor", "--name", "ci"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("fr_api_")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/session", headers=headers).get_json()["role"] == "editor"
    listed = runner.invoke(main, ["tokens", "list"])
    assert "editor" in listed.output and secret not in listed.output
    token_id = access.list_tokens(services)[0]["id"]
    assert runner.invoke(main, ["tokens", "revoke", str(token_id)]).exit_code == 0
    assert client.get("/api/session", headers=headers).status_code == 401
    ingest = runner.invoke(main, ["tokens", "create", "--ingest"])
    assert ingest.stdout.strip().splitlines()[-1].startswith("fr_ingest_")
    assert runner.invoke(main, ["tokens", "create", "--role", "owner"]).exit_code == 2


def test_first_admin_only_when_no_user_exists(services: Services, app: Flask) -> None:
    password = access.ensure_first_admin(services)
    assert password and access.ensure_first_admin(services) is None
    client = app.test_client()
    reply = client.post("/api/login", json={"email": access.FIRST_ADMIN, "password": password})
    assert reply.status_code == 200 and reply.get_json()["role"] == "admin"
