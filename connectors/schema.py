"""Small builders for the JSON Schema 2020-12 declarations of actions and credentials."""

from __future__ import annotations

from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# An ISO-8601 duration as the flow format writes it ("P2D", "PT1H30M", "-P1D").
DURATION = {
    "type": "string",
    "pattern": r"^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$",
    "description": "ISO-8601 duration, e.g. P3D or PT2H",
}
LOCAL_TIME = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}
RECORD_KIND = {
    "type": "string",
    "enum": ["contact", "deal"],
    "description": "Which record of the run's subject; default: the deal if the run has one, "
    "else the contact",
}


def obj(properties: dict[str, Any], required: tuple[str, ...] | list[str] = (), *,
        top: bool = False, **extra: Any) -> dict[str, Any]:
    """A closed object schema (`additionalProperties: false`); `top` adds the `$schema` dialect."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    if top:
        schema = {"$schema": DIALECT, **schema}
    return schema


def string(description: str = "", **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def secret(description: str = "") -> dict[str, Any]:
    """A credential value the API never returns."""
    return string(description, writeOnly=True)
