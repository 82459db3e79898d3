"""Checking an action's rendered params against its params schema, and making values and outputs JSON-safe."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from connectors.base import Action
from runtime.durations import iso
from runtime.templates import is_template

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


def plain_output(action: Action, output: Mapping[str, Any] | None) -> dict[str, Any]:
    """An action's output as the runtime keeps and shows it (`steps.<id>`, the journal, `simulate --json`).

    JSON-safe, and every datetime in it written as params and step times are, ISO-8601 UTC with `Z`:
    datetime objects, and strings where the output schema declares `format: date-time`
    (`2026-11-21T15:00:00+00:00` -> `2026-11-21T15:00:00Z`). Other strings are the provider's data
    and are left as they came.
    """
    return jsonable(_times(action.output_schema, dict(output or {})))


def _times(schema: Any, value: Any) -> Any:
    if not isinstance(schema, Mapping):
        return value
    if isinstance(value, str) and schema.get("format") == "date-time":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return iso(moment) if moment.tzinfo is not None else value
    if isinstance(value, dict):
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            properties = {}
        extra = schema.get("additionalProperties")
        return {k: _times(properties.get(k, extra), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(schema.get("items"), v) for v in value]
    return value


def fit_templated(schema: Any, template: Any, value: Any) -> Any:
    """Rendered params fitted to the scalar types their schema asks for, where a template made them.

    A lone `{{ expression }}` keeps its native type (DESIGN §3), so `"text": "{{ steps.rated.rating }}"`
    gives 5 where Slack wants a string, and `"points": "{{ a }}{{ b }}"` gives "15" where a number is
    wanted. Such values are converted as the editor's user means them (5 -> "5", "15" -> 15); literal
    values are left alone, and anything that still does not fit is reported by the schema check.
    """
    if not isinstance(schema, Mapping):
        return value
    if isinstance(template, str):
        return _fit(schema, value) if is_template(template) else value
    if isinstance(template, Mapping) and isinstance(value, dict):
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            properties = {}
        extra = schema.get("additionalProperties")
        return {k: fit_templated(properties.get(k, extra), template.get(k), v) for k, v in value.items()}
    if isinstance(template, list) and isinstance(value, list) and len(template) == len(value):
        return [fit_templated(schema.get("items"), t, v) for t, v in zip(template, value, strict=True)]
    return value


_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _fit(schema: Mapping[str, Any], value: Any) -> Any:
    wanted = schema.get("type")
    types = [wanted] if isinstance(wanted, str) else [t for t in wanted or [] if isinstance(t, str)]
    if not types or any(_TYPES.get(t, lambda v: True)(value) for t in types):
        return value
    if "string" in types and isinstance(value, int | float | bool):
        return str(value)  # what the same expression prints inside text
    if isinstance(value, str) and ("number" in types or "integer" in types):
        number = _number(value)
        if number is not None and ("number" in types or float(number).is_integer()):
            return int(number) if "integer" in types else number
    if isinstance(value, str) and "boolean" in types and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _number(text: str) -> int | float | None:
    try:
        return int(text.strip())
    except ValueError:
        pass
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
