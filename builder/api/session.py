"""Session login for the editor: `POST /api/login`, `POST /api/logout`, `GET /api/session` (the CSRF
token and who is logged in), and `/api/docs`, the interactive docs page."""

from __future__ import annotations

from typing import Any

from flask import redirect, session
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from builder.api import auth
from builder.api.context import services
from builder.api.errors import ApiError
from runtime import access

bp = APIBlueprint("api", __name__, url_prefix="/api", abp_tags=[Tag(name="session", description="log in")])


class LoginBody(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


class SessionOut(BaseModel):
    authenticated: bool
    csrf_token: str
    user: dict[str, Any] | None = None
    role: str | None = None


def _session_out() -> dict[str, Any]:
    who = auth.current_or_none()
    user = access.get_user(services(), who.user_id) if who and who.user_id is not None else None
    return {"authenticated": who is not None, "csrf_token": auth.csrf_token(), "user": user,
            "role": who.role if who else None}


@bp.post("/login", responses={200: SessionOut}, summary="Log in with e-mail and password (sets the session)")
def login(body: LoginBody) -> Any:
    user = access.check_password(services(), body.email, body.password)
    if user is None:
        raise ApiError(401, "bad_credentials", "the e-mail or the password is wrong")
    session.clear()
    session["user_id"] = user["id"]
    session.permanent = True
    auth.refresh_principal()
    return _session_out()


@bp.post("/logout", responses={200: SessionOut}, summary="End the session")
def logout() -> Any:
    session.clear()
    auth.refresh_principal()
    return _session_out()


@bp.get("/session", responses={200: SessionOut},
        summary="Who is logged in, and the CSRF token to send as X-CSRF-Token on session writes")
def get_session() -> Any:
    return _session_out()


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000, json_schema_extra={"writeOnly": True})
    new_password: str = Field(min_length=access.MIN_PASSWORD, max_length=1000,
                              json_schema_extra={"writeOnly": True})


@bp.post("/session/password", responses={200: SessionOut}, summary="Change your own password",
         security=auth.SECURITY)
def change_password(body: PasswordIn) -> Any:
    who = auth.check_role("viewer")
    user = access.get_user(services(), who.user_id) if who.user_id is not None else None
    if user is None or access.check_password(services(), user["email"], body.current_password) is None:
        raise ApiError(403, "bad_credentials", "the current password is wrong")
    access.update_user(services(), user["id"], password=body.new_password)
    return _session_out()


@bp.get("/docs", doc_ui=False)
def docs() -> Any:
    return redirect("/api/swagger", code=302)
