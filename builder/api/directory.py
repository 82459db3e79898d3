"""Pipelines with ordered stages, teams (for crm.assign_owner) and users as owners (who is away).

Managing people's logins and roles is `users.py` (admin); here editors arrange who owns the work.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.fields import WHOLE, Bool, RecordId
from builder.api.query_errors import translated
from runtime.queries import directory, records

bp = APIBlueprint(
    "directory",
    __name__,
    url_prefix="/api",
    abp_tags=[Tag(name="pipelines and teams", description="pipelines, stages, teams, owners")],
    abp_security=SECURITY,
)


# The pattern is documented here and checked by runtime.queries.directory (its message names the rule).
KEY = Field(min_length=1, max_length=120, json_schema_extra={"pattern": directory.KEY.pattern},
            description="letters, digits, '_', '.', '-', starting with a letter or digit")
StageKey = Annotated[str, KEY]


class KeyPath(BaseModel):
    key: str = KEY


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = KEY
    name: str | None = Field(default=None, max_length=200)


class PipelineIn(BaseModel):
    """The stages in order: keys, or {key, name}. Replacing drops stages not listed (refused while deals
    are in them)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    stages: list[StageKey | StageIn] = Field(
        min_length=1, max_length=100, examples=[["new", "proposal", "won", "lost"]]
    )


class StageOut(BaseModel):
    key: str
    name: str
    position: int


class PipelineOut(BaseModel):
    key: str
    name: str
    stages: list[StageOut]


class PipelinesOut(BaseModel):
    pipelines: list[PipelineOut]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: RecordId
    weight: Annotated[int, Field(ge=0, le=1000), WHOLE] = Field(
        default=1, description="share of work for the weighted strategy")


class TeamIn(BaseModel):
    """Members in order (round robin follows it), each with a weight."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    members: list[MemberIn] = Field(default_factory=list, max_length=500)


class MemberOut(BaseModel):
    user_id: int
    name: str
    email: str
    away: bool
    weight: int


class TeamOut(BaseModel):
    key: str
    name: str
    members: list[MemberOut]


class TeamsOut(BaseModel):
    teams: list[TeamOut]


class OwnerOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    away: bool
    created_at: str = Field(description="ISO datetime the person was added")


class OwnersPage(BaseModel):
    items: list[OwnerOut]
    next_cursor: str | None = None


class OwnersQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=500, pattern=r"^[A-Za-z0-9_\-]*$",
                               description="next_cursor of the previous page, as given (opaque)")
    away: bool | None = Field(default=None, description="only people who are (or are not) away")


class OwnerPath(BaseModel):
    user_id: int = Field(ge=1, le=2**31 - 1)


class OwnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    away: Bool | None = Field(default=None, description="away people are skipped by crm.assign_owner")


class Deleted(BaseModel):
    deleted: bool = True


# ---------------------------------------------------------------- pipelines


@bp.get("/pipelines", responses={200: PipelinesOut}, summary="Every pipeline with its stages in order")
@translated
@requires("viewer")
def list_pipelines() -> Any:
    return {"pipelines": directory.list_pipelines(services())}


@bp.get("/pipelines/<key>", responses={200: PipelineOut}, summary="One pipeline")
@translated
@requires("viewer")
def get_pipeline(path: KeyPath) -> Any:
    return directory.get_pipeline(services(), path.key)


@bp.put(
    "/pipelines/<key>", responses={200: PipelineOut, 201: PipelineOut}, summary="Create or replace a pipeline"
)
@translated
@requires("editor")
def put_pipeline(path: KeyPath, body: PipelineIn) -> Any:
    found, created = directory.put_pipeline(services(), path.key, body.model_dump(exclude_unset=True))
    return found, 201 if created else 200


@bp.delete("/pipelines/<key>", responses={200: Deleted}, summary="Delete a pipeline no deal is in")
@translated
@requires("editor")
def delete_pipeline(path: KeyPath) -> Any:
    directory.delete_pipeline(services(), path.key)
    return {"deleted": True}


# ---------------------------------------------------------------- teams


@bp.get("/teams", responses={200: TeamsOut}, summary="Every team with its members")
@translated
@requires("viewer")
def list_teams() -> Any:
    return {"teams": directory.list_teams(services())}


@bp.get("/teams/<key>", responses={200: TeamOut}, summary="One team")
@translated
@requires("viewer")
def get_team(path: KeyPath) -> Any:
    return directory.get_team(services(), path.key)


@bp.put("/teams/<key>", responses={200: TeamOut, 201: TeamOut}, summary="Create or replace a team")
@translated
@requires("editor")
def put_team(path: KeyPath, body: TeamIn) -> Any:
    found, created = directory.put_team(services(), path.key, body.model_dump(exclude_unset=True))
    return found, 201 if created else 200


@bp.delete("/teams/<key>", responses={200: Deleted}, summary="Delete a team")
@translated
@requires("editor")
def delete_team(path: KeyPath) -> Any:
    directory.delete_team(services(), path.key)
    return {"deleted": True}


# ---------------------------------------------------------------- owners


@bp.get("/owners", responses={200: OwnersPage}, summary="People who can own records and tasks")
@translated
@requires("viewer")
def list_owners(query: OwnersQuery) -> Any:
    where = None if query.away is None else {"field": "user.away", "op": "eq", "value": query.away}
    return records.search(services(), "user", where, limit=query.limit, cursor=query.cursor).to_dict()


class OwnersSearchIn(BaseModel):
    """`where` is a flow condition over `user.*` (id, email, name, role, away, created_at), e.g.
    {"field": "user.away", "op": "eq", "value": false}; omit it for everyone."""

    model_config = ConfigDict(extra="forbid")
    where: dict[str, Any] | None = Field(
        default=None, examples=[{"all": [{"field": "user.role", "op": "eq", "value": "editor"}]}]
    )
    limit: Annotated[int, Field(ge=1, le=200), WHOLE] = Field(default=50)
    cursor: str | None = Field(default=None, max_length=500, pattern=r"^[A-Za-z0-9_\-]*$",
                               description="next_cursor of the previous page, as given (opaque)")


@bp.post("/owners/search", responses={200: OwnersPage}, summary="Search owners by a condition")
@translated
@requires("viewer")
def search_owners(body: OwnersSearchIn) -> Any:
    return records.search(services(), "user", body.where, limit=body.limit, cursor=body.cursor).to_dict()


@bp.patch("/owners/<int:user_id>", responses={200: OwnerOut}, summary="Mark someone away or back, or rename")
@translated
@requires("editor")
def update_owner(path: OwnerPath, body: OwnerIn) -> Any:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return directory.update_user(services(), path.user_id, changes)
