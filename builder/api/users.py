"""Users (admin only): list, create, change role or name or password, delete."""

from __future__ import annotations

from typing import Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.errors import ApiError, not_found
from runtime import access

bp = APIBlueprint("users", __name__, url_prefix="/api", abp_tags=[Tag(name="users")], abp_security=SECURITY)

Role = Literal["viewer", "editor", "admin"]


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    created_at: str


class UsersOut(BaseModel):
    users: list[UserOut]


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(default="", max_length=200)
    role: Role = "editor"
    password: str | None = Field(default=None, min_length=access.MIN_PASSWORD, max_length=1000,
                                 json_schema_extra={"writeOnly": True})


class UserPatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    password: str | None = Field(default=None, min_length=access.MIN_PASSWORD, max_length=1000,
                                 json_schema_extra={"writeOnly": True})


class UserPath(BaseModel):
    user_id: int = Field(ge=1, le=2**31 - 1)


def _refused(exc: access.AccessError) -> ApiError:
    return ApiError(409, "refused", str(exc))


@bp.get("/users", responses={200: UsersOut}, summary="Every user")
@requires("admin")
def list_users() -> Any:
    return {"users": access.list_users(services())}


@bp.post("/users", responses={201: UserOut}, summary="Create a user")
@requires("admin")
def create_user(body: UserIn) -> Any:
    try:
        return access.create_user(services(), body.email, body.password, body.role, body.name), 201
    except access.AccessError as exc:
        raise _refused(exc) from None


@bp.get("/users/<int:user_id>", responses={200: UserOut}, summary="One user")
@requires("admin")
def get_user(path: UserPath) -> Any:
    found = access.get_user(services(), path.user_id)
    if found is None:
        raise not_found(f"there is no user {path.user_id}")
    return found


@bp.patch("/users/<int:user_id>", responses={200: UserOut}, summary="Change a user's role, name or password")
@requires("admin")
def update_user(path: UserPath, body: UserPatch) -> Any:
    try:
        return access.update_user(
            services(), path.user_id, role=body.role, name=body.name, password=body.password
        )
    except LookupError as exc:
        raise not_found(str(exc)) from None
    except access.AccessError as exc:
        raise _refused(exc) from None


@bp.delete("/users/<int:user_id>", responses={204: None}, summary="Delete a user (their tokens are revoked)")
@requires("admin")
def delete_user(path: UserPath) -> Any:
    try:
        access.delete_user(services(), path.user_id)
    except LookupError as exc:
        raise not_found(str(exc)) from None
    except access.AccessError as exc:
        raise _refused(exc) from None
    return "", 204
