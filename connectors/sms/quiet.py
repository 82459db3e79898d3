"""Quiet hours: how long until a local-time window such as 21:00-08:00 ends (0 when outside it)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _at(day: datetime, moment: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), moment, tzinfo=tz)


def seconds_left(now: datetime, start: str, end: str, tz: ZoneInfo) -> float:
    """Seconds from `now` until the quiet window [start, end) on `tz`'s wall clock ends; 0 outside.

    A window whose start is after its end spans midnight (21:00-08:00)."""
    begin, finish = time.fromisoformat(start), time.fromisoformat(end)
    if begin == finish:
        return 0.0
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if begin < finish:
        quiet = begin <= clock < finish
        ends = _at(local, finish, tz)
    else:
        quiet = clock >= begin or clock < finish
        ends = _at(local + timedelta(days=1) if clock >= begin else local, finish, tz)
    if not quiet:
        return 0.0
    return max(0.0, (ends - now).total_seconds())
