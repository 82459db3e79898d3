"""Durations on a DST-safe wall clock, and send windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.registry import default_registry
from runtime.conditions import Clock, evaluate
from runtime.durations import get_zone, parse_duration
from runtime.errors import ConditionError, DurationError
from runtime.validation import validate_flow
from runtime.windows import next_opening

VILNIUS = get_zone("Europe/Vilnius")
NEW_YORK = get_zone("America/New_York")
WEEKDAYS = {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "tz", "expected"),
    [
        ("P1D", utc(2026, 3, 28, 8), VILNIUS, utc(2026, 3, 29, 7)),  # 10:00 local both days, 23 h
        ("PT24H", utc(2026, 3, 28, 8), VILNIUS, utc(2026, 3, 29, 8)),  # clock time is elapsed time
        ("P1D", utc(2026, 10, 24, 7), VILNIUS, utc(2026, 10, 25, 8)),  # autumn: 25 h
        ("P1M", utc(2026, 1, 31, 12), UTC, utc(2026, 2, 28, 12)),  # month end clamps
        ("P1Y", utc(2028, 2, 29, 12), UTC, utc(2029, 2, 28, 12)),
        ("-P30D", utc(2026, 6, 30), UTC, utc(2026, 5, 31)),
        ("P1W", utc(2026, 3, 2), UTC, utc(2026, 3, 9)),
        ("P1DT2H30M", utc(2026, 3, 2), UTC, utc(2026, 3, 3, 2, 30)),
        ("PT1.5S", utc(2026, 3, 2), UTC, datetime(2026, 3, 2, 0, 0, 1, 500000, tzinfo=UTC)),
    ],
)
def test_duration_arithmetic(text: str, start: datetime, tz, expected: datetime) -> None:
    assert parse_duration(text).add_to(start, tz) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "1D", "P1.5D", "P1H", "-", "PT1D", "P-1D", "P1DT"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(DurationError, match="ISO-8601"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("moment", "window", "tz", "expected"),
    [
        (utc(2026, 3, 3, 8), WEEKDAYS, VILNIUS, utc(2026, 3, 3, 8)),  # Tue 10:00 inside
        (utc(2026, 3, 3, 15), WEEKDAYS, VILNIUS, utc(2026, 3, 4, 7)),  # Tue 17:00 = closing: next morning
        (utc(2026, 3, 7, 10), WEEKDAYS, VILNIUS, utc(2026, 3, 9, 7)),  # Saturday -> Monday 09:00
        (
            utc(2026, 3, 28, 10),
            WEEKDAYS,
            VILNIUS,
            utc(2026, 3, 30, 6),
        ),  # over the spring change: +3 on Monday
        (utc(2026, 10, 24, 10), WEEKDAYS, VILNIUS, utc(2026, 10, 26, 7)),  # over the autumn change: +2
        (utc(2026, 3, 3, 20), WEEKDAYS, NEW_YORK, utc(2026, 3, 3, 20)),  # 15:00 in New York
        (utc(2026, 3, 3, 12), {"from": "22:00", "to": "06:00"}, UTC, utc(2026, 3, 3, 22)),  # overnight window
        (
            utc(2026, 3, 4, 3),
            {"from": "22:00", "to": "06:00"},
            UTC,
            utc(2026, 3, 4, 3),
        ),  # inside, after midnight
        (
            utc(2026, 3, 29, 1, 45),
            {"days": ["sun"], "from": "04:30", "to": "05:00"},
            VILNIUS,
            utc(2026, 3, 29, 1, 45),
        ),
    ],
)
def test_next_opening(moment: datetime, window: dict, tz, expected: datetime) -> None:
    assert next_opening(moment, window, tz) == expected


def test_opening_in_the_skipped_hour_moves_one_hour_on() -> None:
    # 03:00-04:00 does not exist in Vilnius on 2026-03-29: a 03:30 opening is 04:30 local (01:30 UTC)
    opening = next_opening(utc(2026, 3, 28, 22), {"days": ["sun"], "from": "03:30", "to": "05:00"}, VILNIUS)
    assert opening == utc(2026, 3, 29, 1, 30)


# ---------------------------------------------------------------- durations at the calendar's edges


def test_absurd_durations_are_refused_by_the_parser_and_the_validator() -> None:
    for text in ("P9999Y", "P99999999999999D", "PT99999999999999999H"):
        with pytest.raises(DurationError):
            parse_duration(text)
    flow = {"format": "flowright/v1", "key": "k", "name": "n", "triggers": [], "start": "d",
            "nodes": [{"id": "d", "type": "delay", "duration": "P9999Y"}]}
    [problem] = validate_flow(flow, default_registry())
    assert problem.pointer == "/nodes/0/duration" and "longer than 1000 years" in problem.message


def test_a_date_moved_beyond_the_calendar_is_a_condition_error_not_a_crash() -> None:
    far = Clock(datetime(9500, 1, 1, tzinfo=UTC), UTC)
    with pytest.raises(ConditionError, match="leaves the calendar") as caught:
        condition = {"field": "contact.seen", "op": "within", "value": "P999Y"}
        evaluate(condition, {"contact": {"seen": "9400-01-01"}}, far, "/nodes/0/rules/0/when")
    assert caught.value.pointer == "/nodes/0/rules/0/when/value"
