"""Working time on China's calendar (domain.workdays): holidays, make-up working days, office
hours, overrides, the fallback for a year the calendar does not know, and a cross-check of
the `holidays` package against `chinesecalendar` over every year both know."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from domain.calendar import ZONE
from domain.workdays import (
    Limit,
    Unit,
    WorkCalendar,
    add_working_time,
    due,
    known_years,
    national_working_day,
    resumed_due,
    working_time_between,
)

CALENDAR = WorkCalendar()
#: The eve of the 2026 National Day holiday (Oct 1-7 off; Sep 20, a Sunday, and Oct 10, a
#: Saturday, worked in exchange), at 16:00.
EVE = datetime(2026, 9, 30, 16, 0, tzinfo=ZONE)


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), ZONE).replace(
        hour=hour, minute=minute)


def test_make_up_working_days_and_holidays_of_2026() -> None:
    assert national_working_day(date(2026, 9, 20)) is True   # a Sunday worked (调休)
    assert national_working_day(date(2026, 10, 10)) is True  # a Saturday worked
    assert national_working_day(date(2026, 10, 5)) is False  # National Day holiday, a Monday
    assert national_working_day(date(2026, 2, 14)) is True   # Spring Festival make-up day
    assert national_working_day(date(2026, 10, 11)) is False  # an ordinary Sunday


def test_three_working_days_from_the_eve_of_national_day_end_on_the_make_up_saturday() -> None:
    # Oct 8 (Thu), Oct 9 (Fri), Oct 10 (Sat, worked in exchange): due at 17:00 that day.
    assert due(Limit(3, Unit.WORKING_DAYS), EVE, CALENDAR).at == at("2026-10-10", 17)


def test_eight_working_hours_from_the_eve_run_one_hour_that_day_and_seven_after() -> None:
    assert due(Limit(8, Unit.WORKING_HOURS), EVE, CALENDAR).at == at("2026-10-08", 16)


def test_emergency_hours_run_round_the_clock_through_the_holiday() -> None:
    assert due(Limit(4, Unit.HOURS), EVE, CALENDAR).at == at("2026-09-30", 20)


def test_working_hours_submitted_at_night_start_at_nine() -> None:
    friday_night = at("2026-11-27", 22)
    assert add_working_time(friday_night, timedelta(hours=2), CALENDAR) == at("2026-11-30", 11)


def test_an_override_makes_a_day_off_or_a_working_day() -> None:
    festival = WorkCalendar({date(2026, 11, 30): False})  # a local festival, a Monday
    assert due(Limit(1, Unit.WORKING_DAYS), at("2026-11-27", 10), festival).at == \
        at("2026-12-01", 17)
    saturday = WorkCalendar({date(2026, 11, 28): True})
    assert due(Limit(1, Unit.WORKING_DAYS), at("2026-11-27", 10), saturday).at == \
        at("2026-11-28", 17)


def test_a_year_the_calendar_does_not_know_falls_back_to_calendar_days(
        caplog: pytest.LogCaptureFixture) -> None:
    unknown = known_years().stop
    start = datetime(unknown, 3, 1, 10, tzinfo=ZONE)
    assert national_working_day(start.date()) is None
    with caplog.at_level(logging.WARNING, logger="gridsteward.workdays"):
        result = due(Limit(3, Unit.WORKING_DAYS), start, CALENDAR)
        hours = due(Limit(8, Unit.WORKING_HOURS), start, CALENDAR)
    assert (result.at, result.fallback) == (start + timedelta(days=3), True)
    assert (hours.at, hours.fallback) == (start + timedelta(hours=8), True)
    assert "does not know" in caplog.text
    # a limit that runs into the unknown year from the last known one falls back too
    late = datetime(unknown - 1, 12, 30, 10, tzinfo=ZONE)
    assert due(Limit(5, Unit.WORKING_DAYS), late, CALENDAR).fallback is True


def test_limits_are_written_in_words() -> None:
    assert Limit.parse("3 working days") == Limit(3, Unit.WORKING_DAYS)
    assert Limit.parse("1 working day") == Limit(1, Unit.WORKING_DAYS)
    assert Limit.parse("8 Working Hours") == Limit(8, Unit.WORKING_HOURS)
    assert Limit.parse("4 hours") == Limit(4, Unit.HOURS)
    assert str(Limit(3, Unit.WORKING_DAYS)) == "3 working days"
    for bad in ("", "three days", "0 hours", "3 fortnights", "-2 hours"):
        with pytest.raises(ValueError, match="not a time limit"):
            Limit.parse(bad)


def test_a_pause_keeps_the_working_time_left() -> None:
    limit = Limit(3, Unit.WORKING_DAYS)
    due_at = at("2026-12-03", 17)  # Thursday
    since, now = at("2026-12-01", 10), at("2026-12-02", 14)  # paused Tue 10:00 to Wed 14:00
    left = working_time_between(since, due_at, CALENDAR)
    assert left == timedelta(hours=7 + 8 + 8)
    # 3 h on Wednesday, 8 h Thursday, 8 h Friday, 4 h Monday
    assert resumed_due(limit, due_at, since, now, CALENDAR).at == at("2026-12-07", 13)
    # round the clock: the pause itself is added
    hours = resumed_due(Limit(4, Unit.HOURS), at("2026-12-01", 12), since, now, CALENDAR)
    assert hours.at == at("2026-12-01", 12) + (now - since)


#: Days the two packages disagree on, each looked at; the project follows `holidays`. Any
#: other disagreement fails the test (a package's data changed: check the State Council's
#: notice of that year).
KNOWN_DISAGREEMENTS = {
    # Saturday 31 Dec 2005: `holidays` takes it as worked in exchange for the New Year's
    # days off of 2006 (its data for 2006); chinesecalendar as a day off.
    date(2005, 12, 31),
}


def _years_both_know() -> list[int]:
    known = set(known_years())
    return sorted(y for y in known if _chinese_calendar_knows(y))


def _chinese_calendar_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def test_holidays_and_chinesecalendar_agree_on_every_day_both_know() -> None:
    years = _years_both_know()
    assert years and years[-1] >= 2026, years
    disagree = []
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            if national_working_day(day) != chinese_calendar.is_workday(day):
                disagree.append(day)
            day += timedelta(days=1)
    assert set(disagree) == KNOWN_DISAGREEMENTS
