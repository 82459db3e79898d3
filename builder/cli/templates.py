"""`flowright templates list | install NAME [--param k=v ...]`: the template library (DESIGN §9, §10).

`install` resolves the bundle's parameters and saves each flow as a DRAFT in the database (nothing is
published). A bundle installs whole or not at all: every flow is validated first, and flows whose keys
already exist are refused unless `--replace`. With `--out DIR` it writes the resolved flow documents
there instead, for review or for `flowright flows import` later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from builder.cli.common import ready_database
from connectors.registry import ConnectorRegistry, default_registry
from runtime import publish
from runtime.bundles import Bundle, BundleError, find_bundle, list_bundles, parse_param_text
from runtime.errors import FlowInvalid
from runtime.models import Flow as FlowRow
from runtime.services import Services, load_flow

BUNDLES_OPTION = click.option(
    "--bundles",
    "folders",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An extra folder of bundles (each in <folder>/<name>/bundle.json). Repeatable.",
)


def register(group: click.Group) -> None:
    group.add_command(templates)


def _fail(error: BundleError) -> click.ClickException:
    lines = [f"{p.pointer or '/'}: {p.message}" for p in error.problems]
    return click.ClickException("\n".join(lines))


def _bundles(folders: tuple[Path, ...]) -> list[Bundle]:
    try:
        return list_bundles(folders)
    except BundleError as exc:
        raise _fail(exc) from None


def _given_values(bundle: Bundle, pairs: tuple[str, ...]) -> dict[str, Any]:
    """`--param k=v` pairs parsed to each parameter's type; unknown names are left for resolution
    to report together with everything else."""
    types = {p["name"]: p["type"] for p in bundle.params}
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--param")
        try:
            values[name] = parse_param_text(types[name], text) if name in types else text
        except ValueError as exc:
            raise click.BadParameter(f"{name}: {exc}", param_hint="--param") from None
    return values


@click.group()
def templates() -> None:
    """The template library: ready flows from real CRM practice, shipped as bundles."""


@templates.command("list")
@BUNDLES_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def templates_list(folders: tuple[Path, ...], as_json: bool) -> None:
    """List the bundles: name, title and the keys of their flows."""
    bundles = _bundles(folders)
    if as_json:
        rows = [{"name": b.name, "title": b.title, "version": b.version, "flows": b.flow_keys,
                 "params": [p["name"] for p in b.params]} for b in bundles]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max((len(b.name) for b in bundles), default=0)
    for bundle in bundles:
        click.echo(f"{bundle.name:<{width}}  {bundle.title}")
        click.echo(f"{'':<{width}}  flows: {', '.join(bundle.flow_keys)}")


@templates.command("install")
@click.argument("name")
@click.option("--param", "pairs", multiple=True, metavar="NAME=VALUE",
              help="A parameter value (see the bundle's params). Repeatable.")
@BUNDLES_OPTION
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write the resolved flow documents to this folder instead of saving drafts.")
@click.option("--replace", is_flag=True, help="Overwrite the drafts of flows that already exist.")
def templates_install(
    name: str, pairs: tuple[str, ...], folders: tuple[Path, ...], out: Path | None, replace: bool
) -> None:
    """Install bundle NAME: resolve its parameters and create its flows as drafts."""
    try:
        bundle = find_bundle(name, folders)
        flows = bundle.resolve(_given_values(bundle, pairs))
    except BundleError as exc:
        raise _fail(exc) from None
    if out is not None:
        _check(default_registry(), flows)
        _write(flows, out)
    else:
        _save_drafts(flows, replace)
    slots = ", ".join(f"{c['connector']} ({c['name']})" for c in bundle.credentials)
    if slots:
        click.echo(f"credentials this bundle needs: {slots} — store them with `flowright credentials put`")


def _write(flows: Sequence[Mapping[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for flow in flows:
        path = out / f"{flow['key']}.json"
        path.write_text(json.dumps(flow, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"wrote {path}")


def _existing_keys(services: Services, keys: list[str]) -> list[str]:
    with Session(services.engine) as session:
        rows = session.execute(select(col(FlowRow.key)).where(col(FlowRow.key).in_(keys))).scalars()
        return sorted(rows)


def _problems(registry: ConnectorRegistry, flows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every problem of every resolved flow, so that a bundle is installed whole or not at all."""
    lines: list[str] = []
    for flow in flows:
        try:
            load_flow(flow, 0, registry)
        except FlowInvalid as exc:
            lines += [f"{flow['key']}:{p.pointer}: {p.message}" for p in exc.problems] or [str(exc)]
    return lines


def _check(registry: ConnectorRegistry, flows: Sequence[Mapping[str, Any]]) -> None:
    problems = _problems(registry, flows)
    if problems:
        lines = ["the bundle's flows are not valid; nothing was installed:", *problems]
        raise click.ClickException("\n".join(lines))


def _save_drafts(flows: Sequence[Mapping[str, Any]], replace: bool) -> None:
    ready_database()
    services = Services.from_env()
    try:
        taken = _existing_keys(services, [str(flow["key"]) for flow in flows])
        if taken and not replace:
            raise click.ClickException(
                f"flows already exist: {', '.join(taken)}; nothing was installed "
                "(use --replace to overwrite their drafts; published versions are kept)")
        _check(services.registry, flows)
        for flow in flows:
            key = publish.save_draft(services, flow)
            click.echo(f"{'replaced' if key in taken else 'created'} draft {key}")
    finally:
        services.close()
