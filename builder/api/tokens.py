"""API tokens and ingest keys (admin only): create (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from builder.api.auth import SECURITY, principal, requires
from builder.api.context import services
from builder.api.errors import not_found
from runtime import access

bp = APIBlueprint("tokens", __name__, url_prefix="/api", abp_tags=[Tag(name="tokens")], abp_security=SECURITY)


class TokenOut(BaseModel):
    id: int
    kind: Literal["api", "ingest"]
    name: str
    role: str
    prefix: str
    user_id: int | None = None
    created_at: str
    last_used_at: str | None = None
    revoked: bool


class TokenCreated(TokenOut):
    token: str = Field(description="the secret: shown only in this answer")


class TokensOut(BaseModel):
    tokens: list[TokenOut]


class TokenIn(BaseModel):
    role: Literal["viewer", "editor", "admin"] = "viewer"
    kind: Literal["api", "ingest"] = Field(default="api", description="ingest keys may only POST /api/events")
    name: str = Field(default="", max_length=120)


class TokenPath(BaseModel):
    token_id: int = Field(ge=1, le=2**31 - 1)


@bp.get("/tokens", responses={200: TokensOut}, summary="Every token and ingest key (never the secrets)")
@requires("admin")
def list_tokens() -> Any:
    return {"tokens": access.list_tokens(services())}


@bp.post("/tokens", responses={201: TokenCreated}, summary="Create an API token or an ingest key")
@requires("admin")
def create_token(body: TokenIn) -> Any:
    info, secret = access.create_token(services(), body.role, kind=body.kind, name=body.name,
                                       user_id=principal().user_id)
    return {**info, "token": secret}, 201


@bp.delete("/tokens/<int:token_id>", responses={200: TokenOut}, summary="Revoke a token")
@requires("admin")
def revoke_token(path: TokenPath) -> Any:
    try:
        return access.revoke_token(services(), path.token_id)
    except LookupError as exc:
        raise not_found(str(exc)) from None
