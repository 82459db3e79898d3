"""Users, API tokens and ingest keys (DESIGN §8): passwords hashed with werkzeug, tokens kept as SHA-256.

A token is shown once when made (`fr_<kind>_<random>`); only its hash and a short prefix are stored,
so a leaked database does not leak working tokens. No function here logs or returns a secret except
the one that creates it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from runtime.models import ApiToken, User
from runtime.services import Services

ROLES = ("viewer", "editor", "admin")
TOKEN_KINDS = ("api", "ingest")
MIN_PASSWORD = 10
FIRST_ADMIN = "admin@localhost"
USED_EVERY = 60  # seconds between updates of a token's last_used_at


class AccessError(ValueError):
    """A refused change (unknown role, duplicate e-mail, the last admin); the message says why."""


@dataclass(frozen=True)
class TokenInfo:
    id: int
    kind: str
    role: str
    user_id: int | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccessError(f"role must be one of {', '.join(ROLES)}, not {role!r}")


def user_dict(row: User) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "name": row.name, "role": row.role,
            "created_at": row.created_at.isoformat()}


def token_dict(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id, "kind": row.kind, "name": row.name, "role": row.role, "prefix": row.prefix,
        "user_id": row.user_id, "created_at": row.created_at.isoformat(),
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked": row.revoked_at is not None,
    }


# ---------------------------------------------------------------- users


def count_users(services: Services) -> int:
    with Session(services.engine) as session:
        return int(session.execute(select(func.count()).select_from(User)).scalar() or 0)


def list_users(services: Services) -> list[dict[str, Any]]:
    with Session(services.engine) as session:
        return [user_dict(u) for u in session.execute(select(User).order_by(User.id)).scalars()]


def get_user(services: Services, user_id: int) -> dict[str, Any] | None:
    with Session(services.engine) as session:
        row = session.get(User, user_id)
        return user_dict(row) if row is not None else None


def create_user(
    services: Services, email: str, password: str | None, role: str, name: str = ""
) -> dict[str, Any]:
    _check_role(role)
    email = email.strip().lower()
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccessError(f"a password needs at least {MIN_PASSWORD} characters")
    with Session(services.engine, expire_on_commit=False) as session:
        if session.execute(select(User).where(User.email == email)).scalars().first() is not None:
            raise AccessError(f"there is already a user {email}")
        row = User(email=email, name=name, role=role, created_at=services.now(),
                   password_hash=generate_password_hash(password) if password else None)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            raise AccessError(f"there is already a user {email}") from None
        return user_dict(row)


def _admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == "admin")
    return int(session.execute(query).scalar() or 0)


def update_user(services: Services, user_id: int, *, role: str | None = None, name: str | None = None,
                password: str | None = None) -> dict[str, Any]:
    with Session(services.engine, expire_on_commit=False) as session:
        row = session.get(User, user_id)
        if row is None:
            raise LookupError(f"there is no user {user_id}")
        if role is not None:
            _check_role(role)
            if row.role == "admin" and role != "admin" and _admins(session) <= 1:
                raise AccessError("the last admin cannot lose the admin role")
            row.role = role
        if name is not None:
            row.name = name
        if password is not None:
            if len(password) < MIN_PASSWORD:
                raise AccessError(f"a password needs at least {MIN_PASSWORD} characters")
            row.password_hash = generate_password_hash(password)
        session.add(row)
        session.commit()
        return user_dict(row)


def delete_user(services: Services, user_id: int) -> None:
    with Session(services.engine) as session:
        row = session.get(User, user_id)
        if row is None:
            raise LookupError(f"there is no user {user_id}")
        if row.role == "admin" and _admins(session) <= 1:
            raise AccessError("the last admin cannot be deleted")
        for token in session.execute(select(ApiToken).where(ApiToken.user_id == user_id)).scalars():
            token.revoked_at = token.revoked_at or services.now()
        session.delete(row)
        session.commit()


def check_password(services: Services, email: str, password: str) -> dict[str, Any] | None:
    """The user when the password matches; None otherwise (same answer for an unknown e-mail)."""
    with Session(services.engine) as session:
        row = session.execute(select(User).where(User.email == email.strip().lower())).scalars().first()
        if row is None or not row.password_hash:
            check_password_hash(generate_password_hash("x"), password)  # same cost as a real check
            return None
        return user_dict(row) if check_password_hash(row.password_hash, password) else None


def ensure_first_admin(services: Services, email: str = FIRST_ADMIN) -> str | None:
    """Create the first admin when no user exists; returns its generated password (print it once)."""
    if count_users(services):
        return None
    password = secrets.token_urlsafe(15)
    try:
        create_user(services, email, password, "admin", name="Administrator")
    except AccessError:
        return None
    return password


# ---------------------------------------------------------------- tokens and ingest keys


def create_token(
    services: Services, role: str, *, kind: str = "api", name: str = "", user_id: int | None = None
) -> tuple[dict[str, Any], str]:
    """A new token: (its description, the secret to show once)."""
    if kind not in TOKEN_KINDS:
        raise AccessError(f"kind must be one of {', '.join(TOKEN_KINDS)}, not {kind!r}")
    if kind == "ingest":
        role = "viewer"
    _check_role(role)
    secret = f"fr_{kind}_{secrets.token_urlsafe(32)}"
    with Session(services.engine, expire_on_commit=False) as session:
        row = ApiToken(kind=kind, name=name, role=role, token_hash=token_hash(secret), prefix=secret[:12],
                       user_id=user_id, created_at=services.now())
        session.add(row)
        session.commit()
        return token_dict(row), secret


def list_tokens(services: Services) -> list[dict[str, Any]]:
    with Session(services.engine) as session:
        return [token_dict(t) for t in session.execute(select(ApiToken).order_by(ApiToken.id)).scalars()]


def revoke_token(services: Services, token_id: int) -> dict[str, Any]:
    with Session(services.engine, expire_on_commit=False) as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise LookupError(f"there is no token {token_id}")
        row.revoked_at = row.revoked_at or services.now()
        session.add(row)
        session.commit()
        return token_dict(row)


def verify_token(services: Services, secret: str) -> TokenInfo | None:
    """The live token with this secret, or None; compares hashes, so timing reveals nothing useful."""
    if len(secret) > 200:
        return None
    with Session(services.engine) as session:
        query = select(ApiToken).where(ApiToken.token_hash == token_hash(secret))
        row = session.execute(query).scalars().first()
        if row is None or row.revoked_at is not None or row.id is None:
            return None
        found = TokenInfo(row.id, row.kind, row.role, row.user_id)
        now = services.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > USED_EVERY:
            row.last_used_at = now  # at most one write a minute per token
            session.add(row)
            session.commit()
        return found
