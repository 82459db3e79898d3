"""Who is calling, and may they: API tokens (`Authorization: Bearer`), session login with CSRF, roles.

`authenticate()` runs before every `/api/` request (installed by the app factory): it finds the
principal from a Bearer token or the session, and refuses a session write without the CSRF header.
`requires(role)` on a view then checks the role: viewer < editor < admin. Public endpoints are listed
in `PUBLIC_ENDPOINTS`; every other `/api/` endpoint answers 401 to an anonymous caller.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request, session

from builder.api.context import services
from builder.api.errors import ApiError
from runtime import access

ROLES = access.ROLES  # ("viewer", "editor", "admin"), weakest first
CSRF_HEADER = "X-CSRF-Token"
REQUIRED_ROLE = "flowright_required_role"  # the attribute `requires` sets on a view
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints that answer without a principal (flask endpoint names). Keep this list short.
PUBLIC_ENDPOINTS = frozenset(
    {"api.login", "api.get_session", "api.logout", "api.docs"}
)
# Security requirement for the OpenAPI document: either scheme.
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "an API token: flowright tokens create"},
    "session": {"type": "apiKey", "in": "cookie", "name": "session",
                "description": "POST /api/login; writes also need the X-CSRF-Token header"},
    "ingestKey": {"type": "http", "scheme": "bearer", "bearerFormat": "fr_ingest_...",
                  "description": "an ingest key, sent as a Bearer token: flowright tokens create --ingest. "
                                 "It may only post events (POST /api/events)."},
}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    role: str
    via: str  # token | session | ingest
    user_id: int | None = None
    email: str | None = None
    token_id: int | None = None

    def allows(self, role: str) -> bool:
        return self.via != "ingest" and ROLES.index(self.role) >= ROLES.index(role)

    @property
    def name(self) -> str:
        return self.email or f"token:{self.token_id}"


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _from_token(value: str) -> Principal:
    found = access.verify_token(services(), value)
    if found is None:
        raise ApiError(401, "unauthorized", "the token is unknown or was revoked")
    via = "ingest" if found.kind == "ingest" else "token"
    role, email = found.role, None
    if found.user_id is not None:  # a token never outranks the person who made it, as they are now
        owner = access.get_user(services(), found.user_id)
        if owner is None or owner["role"] not in ROLES:
            raise ApiError(401, "unauthorized", "the token is unknown or was revoked")
        role, email = min(role, owner["role"], key=ROLES.index), owner["email"]
    return Principal(role=role, via=via, user_id=found.user_id, email=email, token_id=found.id)


def _from_session() -> Principal | None:
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = access.get_user(services(), int(user_id))
    if user is None or user["role"] not in ROLES:
        session.clear()
        return None
    return Principal(role=user["role"], via="session", user_id=user["id"], email=user["email"])


def csrf_token() -> str:
    """The session's CSRF token (made on first use); clients echo it in the X-CSRF-Token header."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def _check_csrf() -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent, str(session.get("csrf") or "")):
        raise ApiError(
            403, "csrf_failed", f"a session write needs the {CSRF_HEADER} header from GET /api/session"
        )


def authenticate() -> None:
    """before_request for /api/: set g.principal or refuse (401 anonymous, 403 missing CSRF)."""
    g.principal = None
    token = bearer()
    if token is not None:
        g.principal = _from_token(token)
        _check_required_role()
        return
    principal = _from_session()
    if principal is not None and request.method not in SAFE_METHODS and request.endpoint != "api.logout":
        _check_csrf()
    g.principal = principal
    if principal is None and request.endpoint not in PUBLIC_ENDPOINTS and request.endpoint is not None:
        raise ApiError(401, "unauthorized", "log in (POST /api/login) or send Authorization: Bearer <token>")
    _check_required_role()


def _check_required_role() -> None:
    """The role the view asks for (`requires`), checked before flask-openapi3 validates the request: a
    caller who may not write is told so (403) whatever the body, not shown how to fix it (422)."""
    view = current_app.view_functions.get(request.endpoint or "")
    role = getattr(view, REQUIRED_ROLE, None)
    if role is not None and g.principal is not None:
        check_role(role)


def current_or_none() -> Principal | None:
    return g.get("principal")


def refresh_principal() -> None:
    """After login/logout: read the principal from the (new) session again."""
    g.principal = _from_session()


def principal() -> Principal:
    found = g.get("principal")
    if found is None:
        raise ApiError(401, "unauthorized", "log in (POST /api/login) or send Authorization: Bearer <token>")
    return found  # type: ignore[no-any-return]


def check_role(role: str) -> Principal:
    who = principal()
    if not who.allows(role):
        raise ApiError(403, "forbidden", f"this needs the {role} role; you are {who.role}"
                       if who.via != "ingest" else "an ingest key may only post events")
    return who


def requires(role: str) -> Callable[[F], F]:
    """Decorator (under the route decorator): the caller needs at least `role` (viewer/editor/admin)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check_role(role)
            return view(*args, **kwargs)

        setattr(wrapper, REQUIRED_ROLE, role)  # read by authenticate(), through the outer wrappers
        return wrapper  # type: ignore[return-value]

    return decorate
