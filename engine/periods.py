"""Calendar periods: month ``2024-03``, quarter ``2024-Q1``, year ``2024``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register

register(
    {
        "E-PERIOD": Msg(
            zh="期间“{text}”无法识别",
            en="period '{text}' is not understood",
            hint_zh="写成 2024-03（月）、2024-Q1（季度）或 2024（年）",
            hint_en="write 2024-03 (a month), 2024-Q1 (a quarter) or 2024 (a year)",
        ),
    }
)

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period; ``key`` is its canonical text (``2024-03``, ``2024-Q1``, ``2024``)."""

    start: dt.date
    end: dt.date  # inclusive
    kind: str  # month | quarter | year
    key: str

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.key


def parse_period(text: str) -> Period:
    """Parse ``2024-03``, ``2024-Q1`` or ``2024``; raise :class:`InputError` otherwise."""
    t = (text or "").strip()
    if m := _MONTH.match(t):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return month_period(year, month)
    elif m := _QUARTER.match(t):
        return quarter_period(int(m[1]), int(m[2]))
    elif m := _YEAR.match(t):
        return year_period(int(m[1]))
    raise InputError(Diagnostic("E-PERIOD", file="--period", args={"text": text}))


def _last_day(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


def month_period(year: int, month: int) -> Period:
    return Period(dt.date(year, month, 1), _last_day(year, month), "month", f"{year:04d}-{month:02d}")


def quarter_period(year: int, quarter: int) -> Period:
    first = 3 * (quarter - 1) + 1
    return Period(dt.date(year, first, 1), _last_day(year, first + 2), "quarter", f"{year:04d}-Q{quarter}")


def year_period(year: int) -> Period:
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), "year", f"{year:04d}")


def period_of(day: dt.date, kind: str) -> Period:
    """The period of the given kind that contains ``day``."""
    if kind == "month":
        return month_period(day.year, day.month)
    if kind == "quarter":
        return quarter_period(day.year, (day.month - 1) // 3 + 1)
    if kind == "year":
        return year_period(day.year)
    raise ValueError(kind)


def period_key(day: dt.date, kind: str) -> str:
    """Fast canonical key of the period containing ``day`` (hot path: no object built)."""
    if kind == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if kind == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def overlapping_keys(period: Period) -> dict[str, set[str]]:
    """For each period kind, the keys of the periods of that kind overlapping ``period``."""
    out: dict[str, set[str]] = {"month": set(), "quarter": set(), "year": set()}
    for month in range(period.start.month, period.end.month + 1):
        day = dt.date(period.start.year, month, 1)
        for kind in out:
            out[kind].add(period_key(day, kind))
    return out


def period_starts(period: Period, kind: str) -> list[tuple[dt.date, str]]:
    """First days (and keys) of the periods of ``kind`` that start inside ``period``."""
    out = []
    for month in range(period.start.month, period.end.month + 1):
        day = dt.date(period.start.year, month, 1)
        if (kind == "month") or (kind == "quarter" and month % 3 == 1) or (
            kind == "year" and month == 1
        ):
            out.append((day, period_key(day, kind)))
    return out
