"""Calendar periods (month ``2024-03``, quarter ``2024-Q1``, half year ``2024-H1``, year
``2024``) and dates, in every form a Chinese spreadsheet or clerk writes them (``2024年一季度``,
``2024/3/5``, ``2024年3月5日``).

Points are evaluated per month, quarter or year (:func:`parse_period`); recurring checklist
duties can also fall due every half year (:func:`parse_duty_period`). A limit may also be
counted per day ``2024-03-05``, per ISO week ``2024-W10`` (Monday to Sunday; the week of
30 December 2024 is ``2025-W01``) or ``ever`` (the whole history from the rule file's
``effective.from``). One reader for periods and one
for dates (:func:`parse_date_text`), so a file's cells and a command's ``--period``, ``--as-of``
and ``--date`` accept the same forms.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register

register(
    {
        "E-PERIOD": Msg(
            zh="期间“{text}”无法识别",
            en="period '{text}' is not understood",
            hint_zh="写成 2024-03 或 2024年3月（月）、2024-Q1 或 2024年一季度（季度）、2024 或 2024年（年）",
            hint_en="write 2024-03 (a month), 2024-Q1 (a quarter) or 2024 (a year)",
        ),
    }
)

_MONTH = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:月份?)?\Z")
_QUARTER = re.compile(r"(\d{4})\s*(?:-|年)?\s*(?:[Qq]([1-4])|第?([1-4一二三四])季度?)\Z")
_YEAR = re.compile(r"(\d{4})\s*(?:年度?)?\Z")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}

# 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日 (号), each optionally followed by a time of day
_DATE_TEXT = re.compile(
    r"(?P<y>\d{4})\s*(?:[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})"
    r"|年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*[日号]?)"
    r"(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?)?\Z")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})\Z")  # 20240305


class DateTextError(ValueError):
    """Text that is not a date: ``kind`` is "form" (not written as a date) or "day" (written
    as a date that does not exist, 2024-02-30)."""

    def __init__(self, text: str, kind: str):
        super().__init__(text)
        self.text = text
        self.kind = kind


def normalize_text(text: str) -> str:
    """Full-width digits, letters and punctuation as their ASCII forms (``２０２４／３／５`` ->
    ``2024/3/5``), trimmed; what a Chinese input method types into a number or date cell."""
    t = text.strip()
    return t if t.isascii() else unicodedata.normalize("NFKC", t).strip()


def parse_date_text(text: str) -> dt.date:
    """A date written as ``2024-03-05``, ``2024/3/5``, ``2024-3-5``, ``2024.3.5``,
    ``2024年3月5日``, ``20240305`` or a date-time (``2024/3/5 14:30``: the date); full-width
    digits allowed. Raises :class:`DateTextError`."""
    t = normalize_text(text)
    m = _DATE_TEXT.match(t)
    if m:
        y, mo, d = m["y"], m["m"] or m["m2"], m["d"] or m["d2"]
    elif (c := _DATE_COMPACT.match(t)):
        y, mo, d = c.groups()
    else:
        raise DateTextError(text, "form")
    try:
        return dt.date(int(y), int(mo), int(d))
    except ValueError:
        raise DateTextError(text, "day") from None


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


_ZH_MONTH = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月(?:份)?$")
_ZH_QUARTER = re.compile(r"^(\d{4})\s*年\s*第?\s*([1-4一二三四])\s*季度?$")
_ZH_YEAR = re.compile(r"^(\d{4})\s*年度?$")


def _from_words(t: str) -> str:
    """The period words :func:`period_words` prints (2024年第一季度, 2024年3月, 2024年度) as
    the canonical key, so a period can be typed the way the notice writes it."""
    if m := _ZH_QUARTER.match(t):
        q = m[2] if m[2].isdigit() else str(_CN_DIGITS[m[2]])
        return f"{m[1]}-Q{q}"
    if m := _ZH_MONTH.match(t):
        return f"{m[1]}-{m[2]}"
    if m := _ZH_YEAR.match(t):
        return m[1]
    return t


def parse_period(text: str) -> Period:
    """Parse a month (``2024-03``, ``2024-3``, ``2024年3月``), a quarter (``2024-Q1``,
    ``2024Q1``, ``2024年第一季度``, ``2024年一季度``, ``2024年Q1``) or a year (``2024``,
    ``2024年``); full-width digits allowed. Raise :class:`InputError` otherwise."""
    t = _from_words(normalize_text(text or ""))  # also 2024年度, 2024年第1季度
    if m := _MONTH.match(t):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return month_period(year, month)
    elif m := _QUARTER.match(t):
        q = m[2] or m[3]
        return quarter_period(int(m[1]), _CN_DIGITS.get(q) or int(q))
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


def half_year_period(year: int, half: int) -> Period:
    first = 6 * (half - 1) + 1
    return Period(dt.date(year, first, 1), _last_day(year, first + 5), "half_year", f"{year:04d}-H{half}")


_HALF = re.compile(r"^(\d{4})\s*(?:-?[Hh]([12])|年?\s*([上下])半年)$")


def parse_duty_period(text: str) -> Period:
    """A period a recurring duty can fall due for: every form :func:`parse_period` accepts
    (``2024-03``, ``2024-Q1``, ``2024``), half years (``2024-H1``, ``2024H2``, ``2024上半年``)
    and the Chinese forms a clerk writes (``2024年3月``, ``2024年第1季度``, ``2024年``)."""
    t = normalize_text(text or "")
    if m := _HALF.match(t):
        half = int(m[2]) if m[2] else (1 if m[3] == "上" else 2)
        return half_year_period(int(m[1]), half)
    return parse_period(t)


def next_period(p: Period) -> Period:
    """The period of the same kind that follows ``p``."""
    return period_of(p.end + dt.timedelta(days=1), p.kind)


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
    if kind == "half_year":
        return half_year_period(day.year, 1 if day.month <= 6 else 2)
    raise ValueError(kind)


def period_key(day: dt.date, kind: str) -> str:
    """Fast canonical key of the period containing ``day`` (hot path: no object built)."""
    if kind == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if kind == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if kind == "year":
        return f"{day.year:04d}"
    if kind == "day":
        return day.isoformat()
    if kind == "week":
        iso = day.isocalendar()
        return f"{iso[0]:04d}-W{iso[1]:02d}"
    if kind == "ever":
        return "ever"
    raise ValueError(kind)


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week containing ``day``."""
    return day - dt.timedelta(days=day.weekday())


def kind_start(day: dt.date, kind: str) -> dt.date:
    """The first day of the period of ``kind`` (any limit kind but ``ever``) containing ``day``."""
    if kind == "day":
        return day
    if kind == "week":
        return week_start(day)
    return period_of(day, kind).start


def kind_end(day: dt.date, kind: str) -> dt.date:
    """The last day of the period of ``kind`` (any limit kind but ``ever``) containing ``day``."""
    if kind == "day":
        return day
    if kind == "week":
        return week_start(day) + dt.timedelta(days=6)
    return period_of(day, kind).end


class _Overlap(dict):
    """Keys of the periods of each kind overlapping a reported period (day and week keys are
    worked out on first use)."""

    def __init__(self, period: Period):
        super().__init__()
        self.period = period
        for kind in ("month", "quarter", "year"):
            self[kind] = set()
        for month in range(period.start.month, period.end.month + 1):
            day = dt.date(period.start.year, month, 1)
            for kind in ("month", "quarter", "year"):
                self[kind].add(period_key(day, kind))
        self["ever"] = {"ever"}

    def __missing__(self, kind: str) -> set[str]:
        keys = set()
        day = self.period.start
        while day <= self.period.end:
            keys.add(period_key(day, kind))
            day += dt.timedelta(days=1)
        self[kind] = keys
        return keys


def overlapping_keys(period: Period) -> dict[str, set[str]]:
    """For each period kind, the keys of the periods of that kind overlapping ``period``."""
    return _Overlap(period)


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


_CN_NUMERALS = "〇一二三四"


def period_words(key: str, lang: str = "zh") -> str:
    """A period as people write it: ``2024-Q1`` → 2024年第一季度, ``2024-03`` → 2024年3月,
    ``2024`` → 2024年度 (English: Q1 2024, March 2024, 2024). The one place period words are
    made, so every notice, table and explanation says the same."""
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", key):
        return f"Q{m[2]} {m[1]}" if lang == "en" else f"{m[1]}年第{_CN_NUMERALS[int(m[2])]}季度"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", key):
        if lang == "en":
            return dt.date(int(m[1]), int(m[2]), 1).strftime("%B %Y")
        return f"{m[1]}年{int(m[2])}月"
    if m := re.fullmatch(r"(\d{4})-H([12])", key):
        return f"H{m[2]} {m[1]}" if lang == "en" else f"{m[1]}年{'上下'[int(m[2]) - 1]}半年"
    if re.fullmatch(r"\d{4}", key):
        return key if lang == "en" else f"{key}年度"
    return key


def date_words(day: dt.date, lang: str = "zh") -> str:
    """``2024年4月3日`` (English: 2024-04-03)."""
    return day.isoformat() if lang == "en" else f"{day.year}年{day.month}月{day.day}日"
