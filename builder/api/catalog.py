"""The connectors catalog: every connector and action with the schemas the editor draws forms from."""

from __future__ import annotations

from typing import Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.query_errors import translated
from runtime.queries import catalog

bp = APIBlueprint(
    "catalog",
    __name__,
    url_prefix="/api",
    abp_tags=[Tag(name="connectors", description="what actions exist and what they take")],
    abp_security=SECURITY,
)


class RateOut(BaseModel):
    limit: int
    per_seconds: float
    scope: str | None = Field(description="the param whose value splits the budget, e.g. channel")


class ActionOut(BaseModel):
    key: str = Field(examples=["mail.send"])
    connector: str
    title: str
    description: str
    params_schema: dict[str, Any] = Field(description="JSON Schema 2020-12 of the action's params")
    output_schema: dict[str, Any] = Field(description="JSON Schema of what steps.<node id> holds after it")
    example_output: dict[str, Any] = Field(description="what a dry run (the simulator) returns")
    delivery: Literal["idempotent", "at_most_once"] = Field(
        description="at_most_once actions are never repeated silently after a crash"
    )
    needs_credential: bool
    rate: RateOut | None = None


class ConnectorOut(BaseModel):
    key: str = Field(examples=["mail"])
    title: str
    description: str
    credentials_schema: dict[str, Any] = Field(description="the credential form; secrets are writeOnly")
    actions: list[ActionOut]


class ConnectorsOut(BaseModel):
    connectors: list[ConnectorOut]


class ConnectorPath(BaseModel):
    key: str = Field(min_length=1, max_length=60)


class ActionPath(BaseModel):
    key: str = Field(min_length=1, max_length=120, description="connector.action, e.g. mail.send")


@bp.get("/connectors", responses={200: ConnectorsOut}, summary="Every connector and its actions")
@translated
@requires("viewer")
def list_connectors() -> Any:
    return {"connectors": catalog.connectors(services().registry)}


@bp.get("/connectors/<key>", responses={200: ConnectorOut}, summary="One connector")
@translated
@requires("viewer")
def get_connector(path: ConnectorPath) -> Any:
    return catalog.connector(services().registry, path.key)


@bp.get("/actions/<key>", responses={200: ActionOut}, summary="One action by its key (connector.action)")
@translated
@requires("viewer")
def get_action(path: ActionPath) -> Any:
    return catalog.action(services().registry, path.key)
