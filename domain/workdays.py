"""Working time on China's calendar: public holidays, make-up working days (调休) and a
community's own exceptions, for the time limits (规定时限) of service requests.

The national calendar is the `holidays` package's China calendar, which lists each year's
days off and the weekend days worked in exchange, as the State Council announces them
(`known_years()`: 2001 to the last year announced). A community's administrators add
overrides (a local festival off, a Saturday worked; domain.requests.overrides), which win.

Office hours are WORK_START to WORK_END (China Standard Time) on working days. A limit
(`Limit`) counts round-the-clock hours, working hours (inside office hours) or working days
(the N-th working day after the day of submission, at WORK_END). For a day of a year the
calendar does not know yet, time falls back to calendar days (and round-the-clock hours),
with a warning in the log and `Due.fallback` set: never an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import holidays
from holidays.countries.china import ChinaStaticHolidays

from domain.calendar import ZONE

log = logging.getLogger("gridsteward.workdays")

#: Office hours of a working day, China Standard Time: 8 working hours.
WORK_START = time(9, 0)
WORK_END = time(17, 0)
#: The first year of the national calendar (the package checks it from 2001 on).
FIRST_YEAR = 2001
#: How far a walk over days goes before it gives up (a limit of years is a mistake).
MAX_DAYS = 3660


class Unit(StrEnum):
    """How a time limit counts."""

    HOURS = "hours"  # round the clock (EMERGENCY)
    WORKING_HOURS = "working hours"  # inside office hours on working days
    WORKING_DAYS = "working days"  # the N-th working day after submission, at WORK_END


_LIMIT = re.compile(r"^\s*(\d+)\s*(hours?|working hours?|working days?)\s*$")


@dataclass(frozen=True)
class Limit:
    """A time limit: `amount` of `unit`, e.g. 3 working days."""

    amount: int
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`"4 hours"`, `"8 working hours"`, `"3 working days"` (ValueError otherwise)."""
        found = _LIMIT.match(text.lower())
        if found is None or int(found.group(1)) <= 0:
            raise ValueError(f"{text!r} is not a time limit: write e.g. \"4 hours\", "
                             "\"8 working hours\" or \"3 working days\" (a positive number)")
        unit = found.group(2).removesuffix("s")
        return cls(int(found.group(1)), Unit(unit + "s"))

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"


def known_years() -> range:
    """The years the national calendar knows: their holidays and make-up days announced."""
    return range(FIRST_YEAR, max(ChinaStaticHolidays.special_public_holidays) + 1)


@lru_cache(maxsize=1)
def _national() -> Any:
    """The package's China calendar over every known year (built once per process)."""
    return holidays.country_holidays("CN", years=known_years())


def national_working_day(day: date) -> bool | None:
    """Whether `day` is a working day in China (a weekday that is no holiday, or a weekend
    day worked in exchange); None for a year the calendar does not know."""
    if day.year not in known_years():
        return None
    return bool(_national().is_working_day(day))


@dataclass(frozen=True)
class WorkCalendar:
    """The national calendar with one community's overrides (day → working or not)."""

    overrides: Mapping[date, bool] = field(default_factory=dict)

    def working(self, day: date) -> bool | None:
        """Whether `day` is a working day here; None when the year is unknown."""
        if day in self.overrides:
            return self.overrides[day]
        return national_working_day(day)


@dataclass(frozen=True)
class Due:
    """When a limit runs out, and whether it was counted in calendar days (fallback)."""

    at: datetime
    fallback: bool = False


class UnknownYear(Exception):
    """A walk over days met a year the calendar does not know."""


def due(limit: Limit, start: datetime, calendar: WorkCalendar) -> Due:
    """When `limit` runs out for a request submitted at `start` (aware, any zone)."""
    if limit.unit is Unit.HOURS:
        return Due(start + timedelta(hours=limit.amount))
    try:
        if limit.unit is Unit.WORKING_DAYS:
            return Due(_after_working_days(start, limit.amount, calendar))
        return Due(add_working_time(start, timedelta(hours=limit.amount), calendar))
    except UnknownYear as exc:
        log.warning("working calendar does not know %s: due time of a limit of %s counted "
                    "in calendar days", exc, limit)
        per = timedelta(days=1) if limit.unit is Unit.WORKING_DAYS else timedelta(hours=1)
        return Due(start + per * limit.amount, fallback=True)


def _working(calendar: WorkCalendar, day: date) -> bool:
    found = calendar.working(day)
    if found is None:
        raise UnknownYear(day.year)
    return found


def _after_working_days(start: datetime, days: int, calendar: WorkCalendar) -> datetime:
    day = start.astimezone(ZONE).date()
    for _ in range(MAX_DAYS):
        day += timedelta(days=1)
        if _working(calendar, day):
            days -= 1
            if days == 0:
                return datetime.combine(day, WORK_END, ZONE)
    raise ValueError("a limit of more than ten years of working days")


def _window(day: date) -> tuple[datetime, datetime]:
    return datetime.combine(day, WORK_START, ZONE), datetime.combine(day, WORK_END, ZONE)


def add_working_time(start: datetime, amount: timedelta, calendar: WorkCalendar) -> datetime:
    """The moment `amount` of office hours after `start` (UnknownYear past the calendar)."""
    day = start.astimezone(ZONE).date()
    left = amount
    for _ in range(MAX_DAYS):
        if _working(calendar, day):
            opens, closes = _window(day)
            begin = max(opens, start)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        day += timedelta(days=1)
    raise ValueError("more than ten years of working time")


def working_time_between(start: datetime, end: datetime, calendar: WorkCalendar) -> timedelta:
    """The office hours between `start` and `end` (zero when end is not after start)."""
    total = timedelta()
    day = start.astimezone(ZONE).date()
    last = end.astimezone(ZONE).date()
    while day <= last:
        if _working(calendar, day):
            opens, closes = _window(day)
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total


def resumed_due(limit: Limit, due_at: datetime, since: datetime, now: datetime,
                calendar: WorkCalendar, fallback: bool = False) -> Due:
    """A request's new time limit after its clock stood still from `since` to `now`: the
    time paused is added, counted as the limit counts (office hours for a working limit,
    so the request keeps the working time it had left); round the clock for hours, for a
    due time counted in calendar days, and when the limit had already run out."""
    paused = max(now - since, timedelta())
    if limit.unit is Unit.HOURS or fallback or since >= due_at:
        return Due(due_at + paused, fallback)
    try:
        left = working_time_between(since, due_at, calendar)
        return Due(add_working_time(now, left, calendar))
    except UnknownYear as exc:
        log.warning("working calendar does not know %s: paused time added round the clock",
                    exc)
        return Due(due_at + paused, fallback=True)
