"""Send windows: "weekdays 09:00-17:00 in the contact's timezone"; a time outside moves to the next opening.

Times are local wall-clock times, so a window keeps its local hours across DST changes. A window whose
`to` is not after its `from` runs overnight (22:00-06:00 opens on the listed day, closes the next).
A local opening time that does not exist (the hour skipped in spring) resolves to the same instant
one hour later on the wall clock, the first moment the window is really open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _time(text: str | None, default: time) -> time:
    if not text:
        return default
    if text in ("24:00", "24:00:00"):
        return time.max
    return time.fromisoformat(text)


def next_opening(moment: datetime, window: Mapping[str, Any], tz: tzinfo) -> datetime:
    """`moment` itself if it lies in the window, else the window's next opening (UTC)."""
    days = {DAYS.index(d) for d in window.get("days") or DAYS}
    opens = _time(window.get("from"), time.min)
    closes = _time(window.get("to"), time.max)
    overnight = closes <= opens
    local_day = moment.astimezone(tz).date()
    for offset in range(-1, 9):
        day = local_day + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        start = datetime.combine(day, opens, tzinfo=tz).astimezone(UTC)
        end_day = day + timedelta(days=1) if overnight else day
        end = datetime.combine(end_day, closes, tzinfo=tz).astimezone(UTC)
        if start <= moment < end:
            return moment
        if start > moment:
            return start
    raise ValueError(f"window {dict(window)!r} never opens")  # only with an empty day list
