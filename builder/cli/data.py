"""Data commands: flows, enroll, events, runs, records and credentials, over the durable runtime.

The runtime is imported inside each command, so a quick one (`runs list`) loads only what it uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from builder.cli.common import json_argument, read_json_file, ready_database
from runtime.errors import EventInvalid, FlowInvalid

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from runtime.services import Services

POLICIES = ("keep", "migrate", "cancel")  # runtime.publish.POLICIES, without importing the publisher


def _services() -> Services:
    from runtime import jobs
    from runtime.services import Services

    ready_database()
    services = Services.from_env()
    jobs.install(services)
    return services


def _engine() -> Engine:
    """The database alone, for commands that only read runs (no Redis, no connectors)."""
    from runtime.db import make_engine

    ready_database()
    return make_engine()


def _echo(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _flow_documents(path: Path) -> list[dict[str, Any]]:
    from runtime import bundles

    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    found = []
    for file in files:
        data = read_json_file(str(file))
        if isinstance(data, dict) and data.get("format") == bundles.FORMAT:
            try:  # a template bundle: its flows with the parameters' defaults filled in
                found.extend(bundles.resolve_flows(data))
            except bundles.BundleError as exc:
                raise click.ClickException(
                    f"{file}: {exc}; install it with `flowright templates install` and --param NAME=VALUE"
                ) from None
        elif isinstance(data, dict) and data.get("format") == "flowright/v1":
            found.append(data)
    return found


@click.group()
def flows() -> None:
    """Import, export and publish flows."""


@flows.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--publish", "and_publish", is_flag=True, help="Publish each imported flow too.")
def flows_import(paths: tuple[Path, ...], and_publish: bool) -> None:
    """Save flow documents (files, folders or bundles of resolved flows) as drafts."""
    from runtime import publish

    services = _services()
    try:
        for path in paths:
            for document in _flow_documents(path):
                try:
                    key = publish.save_draft(services, document)
                except FlowInvalid as exc:
                    raise click.ClickException(f"{path}: {exc}") from None
                line = f"imported {key}"
                if and_publish:
                    line += f" (version {publish.publish(services, key)['version']})"
                click.echo(line)
    finally:
        services.close()


@flows.command("export")
@click.argument("key")
@click.option("--version", type=int, default=None, help="A published version (default: the draft).")
def flows_export(key: str, version: int | None) -> None:
    from runtime import publish

    services = _services()
    try:
        _echo(publish.export(services, key, version))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()


@flows.command("publish")
@click.argument("key")
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default="keep",
    show_default=True,
    help="What happens to runs waiting in older versions.",
)
@click.option("--preview", "only_preview", is_flag=True, help="Only count waiting runs per node.")
def flows_publish(key: str, policy: str, only_preview: bool) -> None:
    from runtime import publish

    services = _services()
    try:
        _echo(
            publish.preview(services, key).to_dict()
            if only_preview
            else publish.publish(services, key, policy=policy)
        )
    except (LookupError, FlowInvalid) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()


@click.command()
@click.argument("key")
@click.option(
    "--subject",
    required=True,
    help='{"contact": {"email": "ann@example.com"}} (upserted), {"contact_id": 1} or {"deal_id": 2}; '
    "JSON or @file",
)
def enroll(key: str, subject: str) -> None:
    """Start a run of a published flow for one subject."""
    from runtime import operations

    services = _services()
    try:
        run_id = operations.enroll(services, key, json_argument(subject, "--subject"))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
    click.echo(run_id or "not enrolled (the flow's reenroll setting refuses this subject)")


@click.group()
def events() -> None:
    """Ingest events."""


@events.command("post")
@click.argument("event")
def events_post(event: str) -> None:
    """Ingest one event or a list (JSON or @file), exactly as POST /api/events does."""
    from runtime import operations

    body = json_argument(event, "EVENT")
    services = _services()
    try:
        accepted = operations.post_events(services, body if isinstance(body, list) else [body])
    except EventInvalid as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
    _echo([{"id": a.id, "type": a.type, "new": a.new} for a in accepted])


@click.group()
def runs() -> None:
    """Inspect, retry and cancel runs."""


@runs.command("list")
@click.option("--flow", default=None)
@click.option("--status", default=None)
@click.option("--json", "as_json", is_flag=True)
def runs_list(flow: str | None, status: str | None, as_json: bool) -> None:
    from runtime import runviews

    engine = _engine()
    try:
        found = runviews.list_runs(engine, flow=flow, status=status)
    finally:
        engine.dispose()
    if as_json:
        _echo(found)
        return
    for run in found:
        extra = run["error"] or run["exit_reason"] or (f"until {run['wake_at']}" if run["wake_at"] else "")
        click.echo(
            f"{run['id']}  {run['flow_key']} v{run['version']}  {run['status']:<9}  "
            f"{run['cursor'] or '-'}  {run['subject_key'] or '-'}  {extra}"
        )


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True)
def runs_show(run_id: str, as_json: bool) -> None:
    from runtime import runviews

    engine = _engine()
    try:
        run = runviews.show_run(engine, run_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    if as_json:
        _echo(run)
        return
    click.echo(
        f"run {run['id']}: {run['flow_key']} v{run['version']} {run['status']}"
        + (f" - {run['error']}" if run["error"] else "")
    )
    for step in run["steps"]:
        click.echo(
            f"  {step['seq']:>3} {step['node']:<20} {step['status']:<8} {step['port'] or ''}"
            + (f"  {step['error']}" if step["error"] else "")
        )


def _run_command(name: str, done: str) -> click.Command:
    """`runs NAME ID`, calling runtime.operations.NAME."""

    @click.command(name)
    @click.argument("run_id")
    def command(run_id: str) -> None:
        from runtime import operations

        services = _services()
        try:
            getattr(operations, name)(services, run_id)
        except (LookupError, ValueError, operations.RunBusy) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            services.close()
        click.echo(f"{run_id} {done}")

    command.help = f"{name.capitalize()} a run."
    return command


runs.add_command(_run_command("retry", "queued again from its failed step"))
runs.add_command(_run_command("cancel", "cancelled"))


@click.group()
def records() -> None:
    """Contacts and deals."""


@records.command("put")
@click.argument("kind", type=click.Choice(["contact", "deal"]))
@click.argument("fields")
def records_put(kind: str, fields: str) -> None:
    from runtime import operations

    services = _services()
    try:
        _echo(operations.put_record(services, kind, json_argument(fields, "FIELDS")))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()


@records.command("get")
@click.argument("kind", type=click.Choice(["contact", "deal"]))
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
def records_get(kind: str, key: str, as_json: bool) -> None:
    from runtime import operations

    services = _services()
    try:
        record = operations.get_record(services, kind, key)
    finally:
        services.close()
    if record is None:
        raise click.ClickException(f"there is no {kind} {key!r}")
    if as_json:
        _echo(record)
        return
    for name, value in record.items():
        click.echo(f"{name}: {value}")


@click.group()
def credentials() -> None:
    """Connector credentials (stored encrypted)."""


@credentials.command("put")
@click.argument("connector")
@click.argument("name")
@click.argument("values")
def credentials_put(connector: str, name: str, values: str) -> None:
    from runtime import operations

    services = _services()
    try:
        operations.put_credential(services, connector, name, json_argument(values, "VALUES"))
    except KeyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
    click.echo(f"stored {connector} credential {name!r}")


def register(group: click.Group) -> None:
    for command in (flows, enroll, events, runs, records, credentials):
        group.add_command(command)
