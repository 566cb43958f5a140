"""Counting days after a date: calendar days or Chinese working days (工作日).

Working days follow the official calendar kept by the ``chinesecalendar`` package: weekends are
days off, official public holidays (法定节假日) are days off, and the adjusted working weekends
(调休上班日) are working days. The package only knows the years the State Council has published;
asking about a day outside them is a user-facing error (:class:`~xiangyue.errors.InputError`
with code ``E-WORKDAY-RANGE``), never a crash.

"N days after D" counts from the day after D: the 1st day after 2024-06-01 is 2024-06-02. With
working days, the N-th working day after D is the N-th working day strictly after D, whatever D
itself is (a step taken on a Sunday is followed by Monday as its 1st working day).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal

import chinese_calendar
from chinese_calendar import constants as _cc_constants

from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register

Calendar = Literal["calendar", "working"]

register(
    {
        "E-WORKDAY-RANGE": Msg(
            zh="工作日历没有 {year} 年的节假日安排（只覆盖 {first}–{last} 年），无法按工作日计算 {day} 的期限",
            en="the working-day calendar does not cover {year} (it covers {first}-{last}); "
            "cannot count working days for {day}",
            hint_zh="升级 chinesecalendar 包以获得新一年的国务院节假日安排，或把该期限改为按自然日计算",
            hint_en="upgrade the chinesecalendar package to get the new year's official holiday "
            "schedule, or count this deadline in calendar days",
        ),
    }
)


@lru_cache(maxsize=1)
def covered_years() -> tuple[int, int]:
    """First and last year the installed holiday calendar knows."""
    years = {d.year for d in _cc_constants.holidays} | {d.year for d in _cc_constants.workdays}
    return min(years), max(years)


def _out_of_range(day: dt.date) -> InputError:
    first, last = covered_years()
    return InputError(
        Diagnostic(
            "E-WORKDAY-RANGE",
            args={"year": day.year, "first": first, "last": last, "day": day.isoformat()},
        )
    )


def is_working_day(day: dt.date) -> bool:
    """Whether ``day`` is a working day in mainland China (holidays and 调休 included)."""
    first, last = covered_years()
    if not first <= day.year <= last:
        raise _out_of_range(day)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # the package's own range check, should it differ from ours
        raise _out_of_range(day) from None


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself when ``days`` is 0)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    left = days
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def add_days(start: dt.date, days: int, calendar: Calendar = "calendar") -> dt.date:
    """``days`` calendar days (or Chinese working days) after ``start``."""
    if calendar == "working":
        return add_working_days(start, days)
    if calendar != "calendar":
        raise ValueError(f"unknown calendar: {calendar!r}")
    return start + dt.timedelta(days=days)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """How many working days lie after ``start`` up to and including ``end`` (0 if end <= start)."""
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
