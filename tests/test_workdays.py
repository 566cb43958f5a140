"""Calendar and Chinese working days (official holidays and 调休), worked by hand for 2024."""

from __future__ import annotations

import datetime as dt

import pytest

from xiangyue.errors import InputError
from xiangyue.checklists.workdays import (
    add_days,
    add_working_days,
    covered_years,
    is_working_day,
    working_days_between,
)

D = dt.date


def test_calendar_days():
    assert add_days(D(2024, 6, 1), 7) == D(2024, 6, 8)
    assert add_days(D(2024, 2, 28), 1) == D(2024, 2, 29)  # leap year
    assert add_days(D(2024, 6, 1), 0) == D(2024, 6, 1)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2024, 9, 27), True),  # Friday
        (D(2024, 9, 28), False),  # Saturday
        (D(2024, 9, 29), True),  # Sunday, adjusted working day for National Day
        (D(2024, 10, 1), False),  # National Day
        (D(2024, 10, 4), False),  # Friday inside the holiday
        (D(2024, 10, 7), False),  # last holiday day (a Monday)
        (D(2024, 10, 8), True),
        (D(2024, 10, 12), True),  # Saturday, adjusted working day
        (D(2024, 10, 13), False),  # Sunday
    ],
)
def test_working_days_around_national_day_2024(day, working):
    assert is_working_day(day) is working


def test_add_working_days_across_the_holiday():
    # Friday 09-27 -> 1st: Sun 09-29 (调休), 2nd: 09-30, 3rd: 10-08, 4th: 10-09, 5th: 10-10.
    assert [add_working_days(D(2024, 9, 27), n) for n in range(1, 6)] == [
        D(2024, 9, 29), D(2024, 9, 30), D(2024, 10, 8), D(2024, 10, 9), D(2024, 10, 10)]
    assert add_days(D(2024, 9, 27), 5, "working") == D(2024, 10, 10)


def test_counting_starts_the_day_after_even_from_a_holiday():
    assert add_working_days(D(2024, 10, 3), 1) == D(2024, 10, 8)
    assert add_working_days(D(2024, 10, 11), 1) == D(2024, 10, 12)  # the adjusted Saturday
    assert add_working_days(D(2024, 10, 11), 0) == D(2024, 10, 11)


def test_working_days_between():
    assert working_days_between(D(2024, 9, 27), D(2024, 10, 10)) == 5
    assert working_days_between(D(2024, 10, 1), D(2024, 10, 7)) == 0
    assert working_days_between(D(2024, 10, 10), D(2024, 10, 1)) == 0


def test_a_year_the_calendar_does_not_know_is_a_clear_error():
    first, last = covered_years()
    assert first <= 2024 <= last
    with pytest.raises(InputError) as err:
        add_working_days(D(last, 12, 20), 30)
    (d,) = err.value.diagnostics
    assert d.code == "E-WORKDAY-RANGE"
    assert d.args["year"] == last + 1
    assert d.message() == (
        f"工作日历没有 {last + 1} 年的节假日安排（只覆盖 {first}–{last} 年），"
        f"无法按工作日计算 {d.args['day']} 的期限")
    assert "chinesecalendar" in d.hint("en")
    with pytest.raises(InputError):
        is_working_day(D(first - 1, 6, 1))


def test_unknown_calendar_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        add_days(D(2024, 1, 1), 1, "lunar")  # type: ignore[arg-type]
