"""Field types the API models share, so a rule is written once and documented in the OpenAPI document
the same way everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from runtime.durations import RANGE_RULE, in_range, to_datetime

# A date-time whose year lies in runtime.durations' MIN_YEAR..MAX_YEAR (1900..9000), documented as a
# pattern so that a client written from the spec does not send year 1 or 9999.
YEAR_PATTERN = r"^(19\d\d|[2-8]\d\d\d|9000)-"


def _in_range(moment: datetime) -> datetime:
    if not in_range(moment):
        raise ValueError(RANGE_RULE)
    return moment


def _moment_text(text: str) -> str:
    moment = to_datetime(text)
    if moment is None:
        raise ValueError("must be an ISO-8601 datetime such as 2026-03-01T09:00:00Z")
    _in_range(moment)
    return text


Moment = Annotated[datetime, AfterValidator(_in_range),
                   Field(json_schema_extra={"pattern": YEAR_PATTERN})]
"""A datetime between the years 1900 and 9000 (format date-time)."""

MomentText = Annotated[
    str, AfterValidator(_moment_text),
    Field(max_length=40, json_schema_extra={"format": "date-time", "pattern": YEAR_PATTERN}),
]
"""The same, kept as the caller wrote it (a naive one is read in a timezone later)."""
