"""Stored connector credentials, write-only: values go in encrypted and never come back out.

Values are encrypted with the same instance key the workers decrypt with (`Services.encrypt`), and
checked against the connector's `credentials_schema` first; a refusal names the field and the rule,
never the value (it may be a secret).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import InvalidToken
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from runtime.db import session_scope
from runtime.durations import iso
from runtime.models import Credential
from runtime.queries.errors import Invalid, NotFound
from runtime.services import Services

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$")
NAME_RULE = "a credential name is 1 to 120 letters, digits, '_', '.' or '-' (flows use 'default' unless told)"


def _entry(row: Credential, services: Services) -> dict[str, Any]:
    try:
        fields: list[str] | None = sorted(services.decrypt(row.ciphertext))
    except (InvalidToken, ValueError):
        fields = None  # encrypted with another instance key: it must be entered again
    return {
        "connector": row.connector,
        "name": row.name,
        "fields": fields,
        "readable": fields is not None,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def _connector(services: Services, key: str) -> Any:
    known = {c.key: c for c in services.registry}
    if key not in known:
        raise NotFound(f"unknown connector {key!r}; known connectors: {', '.join(sorted(known))}")
    return known[key]


def list_credentials(services: Services, connector: str | None = None) -> list[dict[str, Any]]:
    query = select(Credential).order_by(col(Credential.connector), col(Credential.name))
    if connector:
        query = query.where(col(Credential.connector) == connector)
    with Session(services.engine) as session:
        return [_entry(row, services) for row in session.execute(query).scalars()]


def _row(session: Session, connector: str, name: str) -> Credential | None:
    query = select(Credential).where(col(Credential.connector) == connector, col(Credential.name) == name)
    return session.execute(query).scalars().first()


def get_credential(services: Services, connector: str, name: str) -> dict[str, Any]:
    with Session(services.engine) as session:
        row = _row(session, connector, name)
        if row is None:
            raise NotFound(f"there is no {connector} credential named {name!r}")
        return _entry(row, services)


def _problems(schema: Mapping[str, Any], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Schema failures named by field and rule only: never echo a value."""
    out = []
    for error in Draft202012Validator(schema).iter_errors(values):
        path = "/values" + "".join(
            f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in error.absolute_path
        )
        rule = error.validator
        if rule == "required":
            message = error.message.replace(" is a required property", " is required")
        elif rule == "additionalProperties":
            message = "has fields the connector does not know: " + error.message.split("(")[-1].rstrip(")")
        elif rule == "type":
            message = f"must be of type {error.validator_value}"
        elif rule == "enum":
            message = f"must be one of {', '.join(map(str, error.validator_value))}"
        else:
            message = f"fails the {rule!r} rule ({error.validator_value!r})"
        out.append((path, message))
    return sorted(out)


def put_credential(services: Services, connector: str, name: str, values: Any) -> tuple[dict[str, Any], bool]:
    """Create or replace a credential's values; (its metadata, created)."""
    spec = _connector(services, connector)
    if not isinstance(name, str) or not NAME.match(name):
        raise Invalid.at("/name", NAME_RULE)
    if not isinstance(values, Mapping):
        raise Invalid.at("/values", "values is a JSON object of the connector's credential fields")
    problems = _problems(spec.credentials_schema or {"type": "object"}, values)
    if problems:
        raise Invalid.many(problems)
    with session_scope(services.engine) as session:
        row = _row(session, connector, name)
        created = row is None
        row = row or Credential(connector=connector, name=name, ciphertext="", created_at=services.now())
        row.ciphertext, row.updated_at = services.encrypt(values), services.now()
        session.add(row)
        session.flush()
        return _entry(row, services), created


def delete_credential(services: Services, connector: str, name: str) -> None:
    with session_scope(services.engine) as session:
        row = _row(session, connector, name)
        if row is None:
            raise NotFound(f"there is no {connector} credential named {name!r}")
        session.delete(row)
