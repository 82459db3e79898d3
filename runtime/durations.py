"""ISO-8601 durations and datetimes on a wall clock that survives DST changes.

Calendar parts of a duration (years, months, weeks, days) are added on the local wall clock of the
given timezone, so "P1D" from 10:00 the day before a DST change lands at 10:00 the day after; clock
parts (hours, minutes, seconds) are added as elapsed time. This is what HubSpot and Mautic users
expect of "wait one day". Parsing is isodate's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import isodate

from runtime.errors import DurationError

# The syntax the schema accepts (an optional sign, then ISO-8601 designators; no bare "P" or "PT").
DURATION_PATTERN = r"^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
_DURATION_RE = re.compile(DURATION_PATTERN)
# The longest duration a flow may use: far beyond any real wait, short of the calendar's end.
MAX_SPAN = timedelta(days=1000 * 365)
# The dates a request may name: far from the calendar's ends, so converting to UTC cannot overflow.
MIN_YEAR, MAX_YEAR = 1900, 9000
RANGE_RULE = f"must be a date between the years {MIN_YEAR} and {MAX_YEAR}"


@dataclass(frozen=True)
class Duration:
    """A signed ISO-8601 duration split into calendar and clock parts."""

    sign: int = 1
    years: int = 0
    months: int = 0
    days: int = 0
    seconds: float = 0.0

    def add_to(self, moment: datetime, tz: tzinfo | None = None) -> datetime:
        """`moment` moved by this duration, calendar parts on `tz`'s wall clock; returns UTC.

        DurationError when the result falls outside the calendar (before year 1 or after 9999)."""
        try:
            return self._add_to(moment, tz)
        except (ValueError, OverflowError):
            raise DurationError(
                f"{self} from {moment:%Y-%m-%d} leaves the calendar (years 1 to 9999)"
            ) from None

    def __str__(self) -> str:
        sign = "-" if self.sign < 0 else ""
        clock = f"T{self.seconds:g}S" if self.seconds else ""
        return f"{sign}P{self.years}Y{self.months}M{self.days}D{clock}"

    def _add_to(self, moment: datetime, tz: tzinfo | None) -> datetime:
        local = moment.astimezone(tz or UTC)
        if self.years or self.months:
            months = local.month - 1 + self.sign * (self.years * 12 + self.months)
            year, month = local.year + months // 12, months % 12 + 1
            local = local.replace(year=year, month=month, day=min(local.day, _days_in(year, month)))
        if self.days:
            local = local + timedelta(days=self.sign * self.days)  # aware + timedelta keeps the wall time
        result = local.astimezone(UTC)
        return result + timedelta(seconds=self.sign * self.seconds)

    def approx(self) -> timedelta:
        """A plain timedelta (months as 30 days, years as 365): for comparisons, never for scheduling."""
        days = self.years * 365 + self.months * 30 + self.days
        return self.sign * timedelta(days=days, seconds=self.seconds)


def _days_in(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


@cache
def parse_duration(text: str) -> Duration:
    """Parse "P2D", "PT1H30M", "-P1D", "P1M"... into a Duration; DurationError names what is wrong."""
    if not isinstance(text, str) or not _DURATION_RE.match(text):
        raise DurationError(f"{text!r} is not an ISO-8601 duration such as P2D, PT1H30M or -P1D")
    sign = -1 if text.startswith("-") else 1
    # The calendar part and the clock part are parsed apart so that PT24H stays 24 elapsed hours
    # while P1D stays one calendar day (isodate folds both into one timedelta).
    date_part, _, time_part = text.lstrip("-").partition("T")
    try:
        calendar = isodate.parse_duration(date_part) if date_part != "P" else timedelta()
        clock = isodate.parse_duration(f"PT{time_part}") if time_part else timedelta()
    except (isodate.ISO8601Error, ValueError, OverflowError) as exc:
        raise DurationError(f"{text!r} is not an ISO-8601 duration: {exc}") from None
    if isinstance(calendar, isodate.Duration):
        years, months, days = int(calendar.years), int(calendar.months), calendar.tdelta.days
    else:
        years, months, days = 0, 0, calendar.days
    found = Duration(sign, years, months, days, clock.total_seconds())
    if abs(found.approx()) > MAX_SPAN:
        raise DurationError(f"{text!r} is longer than {MAX_SPAN.days // 365} years")
    return found


def is_duration(text: Any) -> bool:
    return isinstance(text, str) and bool(_DURATION_RE.match(text))


@cache
def get_zone(name: str) -> ZoneInfo:
    """A ZoneInfo by IANA name; DurationError-free: raises ValueError naming the zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known IANA timezone such as Europe/Vilnius") from None


def is_zone(name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        get_zone(name)
    except ValueError:
        return False
    return True


def to_datetime(value: Any, tz: tzinfo | None = None) -> datetime | None:
    """An aware datetime from a datetime, a date or an ISO string; naive values are read in `tz`.

    Returns None when the value is not a datetime at all (callers decide whether that is an error).
    """
    zone = tz or UTC
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value and value[0].isdigit():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def in_range(moment: datetime) -> bool:
    """Whether a date a request gave lies in MIN_YEAR..MAX_YEAR (else say RANGE_RULE)."""
    return MIN_YEAR <= moment.year <= MAX_YEAR


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with a Z, seconds precision unless there are microseconds."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
