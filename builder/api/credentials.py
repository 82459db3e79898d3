"""Connector credentials, write-only: create, replace, delete, list names. Secrets never come back.

Admins manage credentials; editors may list them (to pick one for an action node).
"""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.query_errors import translated
from runtime.queries import credentials

bp = APIBlueprint(
    "credentials",
    __name__,
    url_prefix="/api",
    abp_tags=[Tag(name="credentials", description="connector secrets, stored encrypted, never returned")],
    abp_security=SECURITY,
)


class CredentialOut(BaseModel):
    connector: str
    name: str
    fields: list[str] | None = Field(description="names of the fields set (never their values)")
    readable: bool = Field(description="false when the instance key changed since; enter it again")
    created_at: str
    updated_at: str


class CredentialsOut(BaseModel):
    credentials: list[CredentialOut]


class CredentialsQuery(BaseModel):
    connector: str | None = Field(default=None, max_length=60)


class CredentialPath(BaseModel):
    connector: str = Field(min_length=1, max_length=60, description="a connector key, e.g. mail")
    name: str = Field(min_length=1, max_length=120, description="flows use default unless told")


class CredentialIn(BaseModel):
    """The values of the connector's credential form (GET /api/connectors/{key}: credentials_schema)."""

    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any] = Field(
        json_schema_extra={"writeOnly": True},
        examples=[{"host": "smtp.example.com", "port": 587, "username": "me", "password": "..."}],
    )


class Deleted(BaseModel):
    deleted: bool = True


@bp.get("/credentials", responses={200: CredentialsOut}, summary="Stored credentials (names only)")
@translated
@requires("editor")
def list_credentials(query: CredentialsQuery) -> Any:
    return {"credentials": credentials.list_credentials(services(), query.connector)}


@bp.get("/credentials/<connector>/<name>", responses={200: CredentialOut}, summary="One credential's names")
@translated
@requires("editor")
def get_credential(path: CredentialPath) -> Any:
    return credentials.get_credential(services(), path.connector, path.name)


@bp.put(
    "/credentials/<connector>/<name>",
    responses={200: CredentialOut, 201: CredentialOut},
    summary="Create or replace a credential (checked against the connector's form, then encrypted)",
)
@translated
@requires("admin")
def put_credential(path: CredentialPath, body: CredentialIn) -> Any:
    found, created = credentials.put_credential(services(), path.connector, path.name, body.values)
    return found, 201 if created else 200


@bp.delete("/credentials/<connector>/<name>", responses={200: Deleted}, summary="Delete a credential")
@translated
@requires("admin")
def delete_credential(path: CredentialPath) -> Any:
    credentials.delete_credential(services(), path.connector, path.name)
    return {"deleted": True}
