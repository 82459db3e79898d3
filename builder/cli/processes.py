"""Process commands: `up` (everything on one machine), `web`, `worker`, `scheduler`, `db upgrade`.

`up` needs no set-up: the SQLite file and the embedded Redis live in the instance folder. On Ctrl-C or
SIGTERM it stops the web server, the worker and the scheduler, closes every Redis client and shuts
the embedded server down, leaving no process or temporary folder behind.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from typing import Any

import click
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty
from werkzeug.serving import make_server

from runtime import jobs
from runtime.db import database_url, instance_home, upgrade
from runtime.redis_embedded import redis_url
from runtime.scheduler import Scheduler, lease_holder, once
from runtime.services import Services

log = logging.getLogger("flowright.up")
LOCAL_HOSTS = frozenset({"127.0.0.1", "0.0.0.0", "::", "::1", "", "localhost"})


class ThreadWorker(SimpleWorker):
    """A non-forking worker that can live in a thread: signals belong to the main thread, so job
    timeouts use a timer thread instead of SIGALRM."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def _default_public_url(host: str, port: int) -> str:
    """FLOWRIGHT_PUBLIC_URL, or, when it is unset, the address this process serves on (set for the whole
    process, so the web server, the worker and the scheduler build tracking and webhook URLs alike)."""
    if not os.environ.get("FLOWRIGHT_PUBLIC_URL"):
        shown = "localhost" if host in LOCAL_HOSTS else (f"[{host}]" if ":" in host else host)
        os.environ["FLOWRIGHT_PUBLIC_URL"] = f"http://{shown}:{port}"
    return os.environ["FLOWRIGHT_PUBLIC_URL"]


def _services() -> Services:
    services = Services.from_env()
    jobs.install(services)
    return services


def _on_stop(stopping: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _worker_loop(services: Services, stopping: threading.Event) -> None:
    while not stopping.is_set():
        try:  # a fresh worker each pass: a registration left over in Redis cannot block the next pass
            ThreadWorker([jobs.queue(services.redis)], connection=services.redis).work(
                burst=True, logging_level="WARNING"
            )
        except Exception:
            log.exception("worker pass failed")
        stopping.wait(0.05 if services.redis.llen(jobs.WORK_KEY) else 0.2)


def _first_admin(services: Services) -> None:
    """With no user yet, make the first admin and print its password once (it is stored hashed)."""
    from runtime.access import FIRST_ADMIN, ensure_first_admin

    password = ensure_first_admin(services)
    if password:
        click.echo(f"First admin created: {FIRST_ADMIN} / {password}  (shown once; change it)", err=True)


@click.command()
@click.option("--port", default=5000, show_default=True, help="Port of the web server (127.0.0.1).")
@click.option("--host", default="127.0.0.1", show_default=True)
def up(port: int, host: str) -> None:
    """Run everything on this machine: database, embedded Redis, a worker, the scheduler, the web server."""
    from builder.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    public = _default_public_url(host, port)
    upgrade()
    services = _services()
    _first_admin(services)
    stopping = threading.Event()
    _on_stop(stopping)
    scheduler = Scheduler(services)
    server = make_server(host, port, create_app({"SERVICES": services}), threaded=True)
    threads = [
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="web", daemon=True),
        threading.Thread(target=_worker_loop, args=(services, stopping), name="worker", daemon=True),
        threading.Thread(
            target=scheduler.run_forever, args=(stopping.is_set,), name="scheduler", daemon=True
        ),
    ]
    for thread in threads:
        thread.start()
    where = redis_url() or f"embedded ({instance_home()})"
    click.echo(
        f"Flowright is up on http://{host}:{port} (public URL {public})  database: {database_url()}  "
        f"redis: {where}", err=True,
    )
    try:
        while not stopping.is_set():
            stopping.wait(0.5)
    finally:
        click.echo("Stopping...", err=True)
        server.shutdown()
        for thread in threads:
            thread.join(timeout=15)
        scheduler.stop()
        services.close()  # and the embedded Redis, unless another process still uses it
        click.echo("Stopped.", err=True)


@click.command()
@click.option("--port", default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def web(port: int, host: str) -> None:
    """The web server alone (development server; in production run gunicorn 'builder.app:create_app()')."""
    from builder.app import create_app

    _default_public_url(host, port)
    create_app().run(host=host, port=port)


@click.command()
@click.option("--burst", is_flag=True, help="Process what is queued, then exit.")
def worker(burst: bool) -> None:
    """An RQ worker (non-forking) for the flowright queue."""
    services = _services()
    try:
        SimpleWorker([jobs.queue(services.redis)], connection=services.redis).work(
            burst=burst, logging_level="INFO"
        )
    finally:
        services.close()


@click.command()
@click.option(
    "--once",
    "run_once",
    is_flag=True,
    help="Run one pass of everything (timers, sweeps) and exit, even beside a running scheduler.",
)
def scheduler(run_once: bool) -> None:
    """Wake due runs, fire schedule/date/segment triggers, reconcile; one active at a time (lease)."""
    services = _services()
    try:
        if run_once:
            holder = lease_holder(services)
            if holder:
                click.echo(f"running beside the active scheduler {holder} (it holds the lease)", err=True)
            click.echo(json.dumps(once(services)))
            return
        stopping = threading.Event()
        _on_stop(stopping)
        Scheduler(services).run_forever(stopping.is_set)
    finally:
        services.close()


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision (safe to run again)."""
    before, after = upgrade()
    if before is None:
        click.echo(f"database created at revision {after}: {database_url()}")
    elif before != after:
        click.echo(f"database migrated from revision {before} to {after}: {database_url()}")
    else:
        click.echo(f"database already at the latest revision {after}: {database_url()}")


def register(group: click.Group) -> None:
    for command in (up, web, worker, scheduler, db):
        group.add_command(command)


__all__ = ["register"]
