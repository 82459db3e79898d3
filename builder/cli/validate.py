"""`flowright validate FILE...`: every problem of every file, one line each, `FILE:POINTER: message`.

Exit 0 when every file is valid, 1 when any has an error. Errors go to stdout; warnings (a loop
with no delay in it, a var never set) go to stderr as `FILE:POINTER: warning: message` and do not
fail the command. A template bundle (`format: flowright-bundle/v1`) is checked as a bundle and each
of its flows, resolved with the parameters' defaults, as a flow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from connectors.registry import ConnectorRegistry, default_registry
from runtime import bundles
from runtime.validation import Problem, validate_flow


def read_document(path: str) -> tuple[Any, list[Problem]]:
    """The JSON in a file, or a problem at the whole document saying why it cannot be read."""
    if Path(path).is_dir():
        return None, [Problem("", "cannot read the file: it is a directory")]
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, [Problem("", f"cannot read the file: {reason}")]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [Problem("", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
    except RecursionError:
        return None, [Problem("", "not valid JSON: nested too deeply")]


def _bundle_problems(document: Mapping[str, Any], registry: ConnectorRegistry) -> Iterator[Problem]:
    found = bundles.validate_bundle(document)
    for problem in found:
        yield Problem(problem.pointer, problem.message)
    if found:
        return
    try:
        flows = bundles.resolve_flows(document)
    except bundles.BundleError as exc:  # a parameter without a default: the flows need install values
        for problem in exc.problems:
            yield Problem(problem.pointer, f"the flows were not checked: {problem.message}", "warning")
        return
    for i, flow in enumerate(flows):
        for problem in validate_flow(flow, registry):
            yield Problem(f"/flows/{i}{problem.pointer}", problem.message, problem.severity)


def problems_of(path: str, registry: ConnectorRegistry) -> list[Problem]:
    document, unreadable = read_document(path)
    if unreadable:
        return unreadable
    if isinstance(document, Mapping) and document.get("format") == bundles.FORMAT:
        return list(_bundle_problems(document, registry))
    return validate_flow(document, registry)


@click.command("validate")
# Not click.Path's checks: a directory or an unreadable file is a `FILE:: message` line and exit 1
# (DESIGN §10), like a missing one, not a usage error with exit 2.
@click.argument("files", nargs=-1, required=True, type=click.Path(readable=False))
def validate_command(files: tuple[str, ...]) -> None:
    """Check flow documents (or template bundles); print one line per problem as FILE:POINTER: message."""
    registry = default_registry()
    failed = False
    for path in files:
        for problem in problems_of(path, registry):
            if problem.is_error:
                failed = True
                click.echo(f"{path}:{problem.pointer}: {problem.message}")
            else:
                click.echo(f"{path}:{problem.pointer}: warning: {problem.message}", err=True)
    raise SystemExit(1 if failed else 0)


def register(group: click.Group) -> None:
    group.add_command(validate_command)
