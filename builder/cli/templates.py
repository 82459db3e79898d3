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

from builder.cli.common import ready_database
from connectors.registry import ConnectorRegistry, default_registry
from runtime.bundles import (
    Bundle,
    BundleConflict,
    BundleError,
    BundleProblem,
    check_flows,
    find_bundle,
    install,
    list_bundles,
    parse_param_text,
)
from runtime.services import Services

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
        values = _given_values(bundle, pairs)
        flows = bundle.resolve(values)
    except BundleError as exc:
        raise _fail(exc) from None
    if out is not None:
        _check(default_registry(), flows)
        _write(flows, out)
    else:
        _save_drafts(bundle, values, replace)
    slots = ", ".join(f"{c['connector']} ({c['name']})" for c in bundle.credentials)
    if slots:
        click.echo(f"credentials this bundle needs: {slots} — store them with `flowright credentials put`")


def _write(flows: Sequence[Mapping[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for flow in flows:
        path = out / f"{flow['key']}.json"
        path.write_text(json.dumps(flow, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"wrote {path}")


def _invalid(flows: Sequence[Mapping[str, Any]], problems: Sequence[BundleProblem]) -> click.ClickException:
    """`KEY:POINTER: message` per problem of the resolved flows (pointers are `/flows/<i>/...`)."""
    lines = ["the bundle's flows are not valid; nothing was installed:"]
    for problem in problems:
        _, _, index, rest = (problem.pointer + "/").split("/", 3)
        key = flows[int(index)]["key"] if index.isdigit() else "?"
        lines.append(f"{key}:/{rest.rstrip('/')}: {problem.message}")
    return click.ClickException("\n".join(lines))


def _check(registry: ConnectorRegistry, flows: Sequence[Mapping[str, Any]]) -> None:
    problems = check_flows(registry, flows)
    if problems:
        raise _invalid(flows, problems)


def _save_drafts(bundle: Bundle, values: Mapping[str, Any], replace: bool) -> None:
    ready_database()
    services = Services.from_env()
    try:
        installed = install(services, bundle, values, replace=replace)
    except BundleConflict as exc:
        raise click.ClickException(
            f"flows already exist: {', '.join(exc.taken)}; nothing was installed "
            "(use --replace to overwrite their drafts; published versions are kept)") from None
    except BundleError as exc:
        raise _invalid(bundle.resolve(values), exc.problems) from None
    finally:
        services.close()
    for flow in installed:
        click.echo(f"{'created' if flow.created else 'replaced'} draft {flow.key}")
