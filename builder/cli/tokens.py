"""`flowright tokens create --role R` (an API token or, with --ingest, an ingest key), `list`, `revoke`."""

from __future__ import annotations

import json

import click

from runtime import access
from runtime.db import upgrade
from runtime.services import Services


def register(group: click.Group) -> None:
    group.add_command(tokens)


def _services() -> Services:
    upgrade()
    return Services.from_env()


@click.group()
def tokens() -> None:
    """API tokens (Authorization: Bearer) and ingest keys for POST /api/events."""


@tokens.command("create")
@click.option("--role", type=click.Choice(access.ROLES), default="viewer", show_default=True)
@click.option("--ingest", is_flag=True, help="An ingest key: may only post events.")
@click.option("--name", default="", help="A label to recognise the token by.")
def create(role: str, ingest: bool, name: str) -> None:
    """Create a token and print it once (only its SHA-256 is stored)."""
    services = _services()
    try:
        info, secret = access.create_token(services, role, kind="ingest" if ingest else "api", name=name)
    finally:
        services.close()
    click.echo(f"{'ingest key' if ingest else 'token'} {info['id']} ({info['role']}); shown once:", err=True)
    click.echo(secret)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_tokens(as_json: bool) -> None:
    services = _services()
    try:
        found = access.list_tokens(services)
    finally:
        services.close()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for t in found:
        state = "revoked" if t["revoked"] else "live"
        click.echo(f"{t['id']:>4}  {t['kind']:<6} {t['role']:<7} {t['prefix']}…  {state:<7} {t['name']}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    services = _services()
    try:
        access.revoke_token(services, token_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
    click.echo(f"token {token_id} revoked")
