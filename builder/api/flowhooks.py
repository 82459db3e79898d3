"""A flow's webhook URL: show it, make or rotate it (optionally signed; secret shown once), remove it."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.errors import not_found
from builder.api.fields import Bool
from runtime import hooks

bp = APIBlueprint("flowhooks", __name__, url_prefix="/api", abp_tags=[Tag(name="flows")],
                  abp_security=SECURITY)


class FlowPath(BaseModel):
    key: str = Field(max_length=120)


class HookIn(BaseModel):
    signed: Bool = Field(default=False, description="require an HMAC-SHA256 signature and timestamp")


class HookOut(BaseModel):
    flow: str
    url: str
    signed: bool
    listening: bool = Field(description="the published version has a webhook trigger; else nothing starts")
    secret: str | None = Field(default=None, description="the signing secret: only when it is made")


@bp.get("/flows/<key>/hook", responses={200: HookOut}, summary="The flow's webhook URL")
@requires("editor")
def get_hook(path: FlowPath) -> Any:
    try:
        return hooks.describe(services(), path.key)
    except LookupError as exc:
        raise not_found(str(exc)) from None


@bp.post("/flows/<key>/hook", responses={201: HookOut},
         summary="Make or rotate the flow's webhook URL (the old URL stops working)")
@requires("editor")
def create_hook(path: FlowPath, body: HookIn) -> Any:
    try:
        return hooks.create(services(), path.key, body.signed), 201
    except LookupError as exc:
        raise not_found(str(exc)) from None


@bp.delete("/flows/<key>/hook", responses={204: None}, summary="Remove the flow's webhook URL")
@requires("editor")
def delete_hook(path: FlowPath) -> Any:
    try:
        hooks.delete(services(), path.key)
    except LookupError as exc:
        raise not_found(str(exc)) from None
    return "", 204
