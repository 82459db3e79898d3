"""Checking an action's rendered params against its params schema, and making values JSON-safe."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from connectors.base import Action
from runtime.durations import iso

_VALIDATORS: dict[tuple[str, int], Draft202012Validator] = {}


def _validator(action: Action) -> Draft202012Validator:
    """The compiled params validator of an action, built once per action declaration."""
    key = (action.key, id(action.params_schema))
    validator = _VALIDATORS.get(key)
    if validator is None:
        validator = _VALIDATORS[key] = Draft202012Validator(
            action.params_schema, format_checker=FormatChecker()
        )
    return validator


def check_params(action: Action, params: Any) -> str | None:
    """None when `params` satisfy the action's schema, else one sentence per problem with its pointer."""
    validator = _validator(action)
    if validator.is_valid(params):
        return None
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    return "; ".join(f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors)


def jsonable(value: Any) -> Any:
    """Rendered values made JSON-safe: datetimes as ISO strings, durations as seconds."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
