"""Field types the API models share, so a rule is written once and documented in the OpenAPI document
the same way everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict

from runtime.durations import RANGE_RULE, in_range, to_datetime
from runtime.queries.fields import MAX_ID

# A date-time whose year lies in runtime.durations' MIN_YEAR..MAX_YEAR (1900..9000), documented as a
# pattern so that a client written from the spec does not send year 1 or 9999.
YEAR_PATTERN = r"^(19\d\d|[2-8]\d\d\d|9000)-"


ISO_RULE = "must be an ISO-8601 datetime such as 2026-03-01T09:00:00Z"


def _moment(value: Any) -> datetime:
    """An ISO-8601 text (not a number of seconds, which pydantic would also take) within the years."""
    moment = to_datetime(value) if isinstance(value, str | datetime) else None
    if moment is None:
        raise ValueError(ISO_RULE)
    if not in_range(moment):
        raise ValueError(RANGE_RULE)
    return moment


def _moment_text(text: str) -> str:
    _moment(text)
    return text


Moment = Annotated[datetime, BeforeValidator(_moment), Field(json_schema_extra={"pattern": YEAR_PATTERN})]
"""A datetime between the years 1900 and 9000 (format date-time)."""

MomentText = Annotated[
    str, AfterValidator(_moment_text),
    Field(max_length=40, json_schema_extra={"format": "date-time", "pattern": YEAR_PATTERN}),
]
"""The same, kept as the caller wrote it (a naive one is read in a timezone later)."""

def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    return value  # pydantic takes 3.0 as 3 and refuses 3.5


# JSON body scalars taken as sent: 0 is not false and false is not 0 (pydantic's lax mode converts them,
# so a client written from the spec could not tell what the server keeps).
Bool = Annotated[bool, Strict()]
# An integer: 3 or 3.0 (both are JSON Schema integers), never true or "3". Put the bounds before it,
# `Annotated[int, Field(ge=1, le=9), WHOLE]`, so that the OpenAPI document shows them.
WHOLE = BeforeValidator(_whole_number)
Number = Annotated[float, Strict()]  # an integer is a number too; a boolean is not
RecordId = Annotated[int, Field(ge=1, le=MAX_ID), WHOLE]
"""A record's id in a body: a whole number from 1 to 2**31 - 1 (32-bit in PostgreSQL)."""
