"""The fields of each record kind, their types and limits: input is checked here, with a JSON pointer
per problem, before it reaches the store (so a bad value is a 4xx, never a database error)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from runtime.durations import RANGE_RULE, in_range, is_zone, to_datetime
from runtime.queries.errors import Invalid

READ_ONLY = frozenset({"id", "created_at", "updated_at", "completed_at"})
CUSTOM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_TEXT = 2000
CUSTOM_RULE = "a custom field name is a letter or _ then letters, digits or _ (64 at most)"

Check = Callable[[Any], tuple[Any, str | None]]


def _text(limit: int = MAX_TEXT) -> Check:
    def check(value: Any) -> tuple[Any, str | None]:
        if not isinstance(value, str):
            return None, "must be a string"
        if len(value) > limit:
            return None, f"must be at most {limit} characters"
        return value, None

    return check


def _email(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", value.strip()):
        return None, "must be an e-mail address such as ana@example.com"
    if len(value) > 320:
        return None, "must be at most 320 characters"
    return value.strip().lower(), None


MAX_ID = 2**31 - 1  # record ids are 32-bit integers in PostgreSQL
ID_RULE = f"must be a record id: a whole number from 1 to {MAX_ID}"


def _int(value: Any) -> tuple[Any, str | None]:
    return (value, None) if is_id(value) else (None, ID_RULE)


def is_id(value: Any) -> bool:
    """A JSON whole number that can name a record (not a bool, a string or a float)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _number(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, "must be a number"
    if abs(value) > 1e15:
        return None, "must be between -1e15 and 1e15"
    return float(value), None


def _bool(value: Any) -> tuple[Any, str | None]:
    return (value, None) if isinstance(value, bool) else (None, "must be true or false")


def _datetime(value: Any) -> tuple[Any, str | None]:
    moment = to_datetime(value) if isinstance(value, str) else None
    if moment is None or not isinstance(moment, datetime):
        return None, "must be an ISO-8601 date or datetime such as 2026-03-01T09:00:00Z"
    if not in_range(moment):
        return None, RANGE_RULE
    return moment, None


def _tags(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 120 for t in value):
        return None, "must be a list of tags (strings of 1 to 120 characters)"
    if len(value) > 500:
        return None, "may hold at most 500 tags"
    return list(dict.fromkeys(value)), None


def _zone(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or len(value) > 60 or not is_zone(value):
        return None, "must be an IANA timezone such as Europe/Vilnius"
    return value, None


def _currency(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        return None, "must be a three-letter ISO 4217 code such as EUR"
    return value.upper(), None


# (check, nullable) per standard field of each kind
FIELDS: dict[str, dict[str, tuple[Check, bool]]] = {
    "contact": {
        "email": (_email, True),
        "phone": (_text(40), True),
        "first_name": (_text(200), True),
        "last_name": (_text(200), True),
        "owner": (_int, True),
        "tags": (_tags, False),
        "status": (_text(60), True),
        "score": (_number, False),
        "subscribed": (_bool, False),
        "bounced": (_bool, False),
        "timezone": (_zone, True),
        "last_contact_at": (_datetime, True),
    },
    "deal": {
        "contact_id": (_int, True),
        "name": (_text(200), True),
        "pipeline": (_text(120), True),
        "stage": (_text(120), True),
        "stage_entered_at": (_datetime, True),
        "value": (_number, True),
        "currency": (_currency, True),
        "owner": (_int, True),
        "tags": (_tags, False),
        "score": (_number, False),
    },
    "task": {
        "title": (_text(500), False),
        "notes": (_text(), True),
        "due_at": (_datetime, True),
        "assignee": (_int, True),
        "contact_id": (_int, True),
        "deal_id": (_int, True),
        "done": (_bool, False),
    },
}
CUSTOM_KINDS = frozenset({"contact", "deal"})  # kinds whose unknown keys are custom fields


def clean(kind: str, fields: Any, pointer: str = "") -> dict[str, Any]:
    """Checked, normalised fields for `kind` (read-only keys dropped); Invalid lists every problem."""
    if not isinstance(fields, Mapping):
        raise Invalid.at(pointer, f"a {kind} is a JSON object of fields")
    spec = FIELDS[kind]
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, value in fields.items():
        where = f"{pointer}/{_escape(name)}"
        if name in READ_ONLY:
            continue
        if name in spec:
            check, nullable = spec[name]
            if value is None:
                if not nullable:
                    problems.append((where, "may not be null"))
                else:
                    out[name] = None
                continue
            normal, error = check(value)
            if error:
                problems.append((where, error))
            else:
                out[name] = normal
        elif kind in CUSTOM_KINDS and isinstance(name, str) and CUSTOM_NAME.match(name):
            out[name] = value
        elif kind in CUSTOM_KINDS:
            problems.append((where, CUSTOM_RULE))
        else:
            problems.append((where, f"a {kind} has no field {name!r}; its fields: {', '.join(spec)}"))
    if problems:
        raise Invalid.many(problems)
    return out


def _escape(name: Any) -> str:
    return str(name).replace("~", "~0").replace("/", "~1")
