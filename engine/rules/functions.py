"""The built-in functions of the expression language: names, signatures and implementations.

The checker reads the signatures, the compiler the implementations; a rule file can call
nothing else. Every function runs in time bounded by its arguments (no loops over user data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Callable

NUMBER, TEXT, DATE, BOOLEAN, ANY = "number", "text", "date", "boolean", "any"


@dataclass(frozen=True)
class Function:
    name: str  # canonical ASCII name
    aliases: tuple[str, ...]  # Chinese names
    params: tuple[str, ...]  # parameter types; the last repeats when variadic
    result: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: variadic
    doc_zh: str
    doc_en: str


def _round(x: Decimal, places: Decimal = Decimal(0)) -> Decimal:
    exp = Decimal(1).scaleb(-int(places))
    return x.quantize(exp, rounding=ROUND_HALF_UP)


def _quarter(d: dt.date) -> Decimal:
    return Decimal((d.month - 1) // 3 + 1)


_FUNCTIONS = [
    Function("min", ("最小", "最小值"), (NUMBER,), NUMBER, lambda *a: min(a), 1, None,
             "最小值：min(a, b, …)", "smallest of its arguments"),
    Function("max", ("最大", "最大值"), (NUMBER,), NUMBER, lambda *a: max(a), 1, None,
             "最大值：max(a, b, …)", "largest of its arguments"),
    Function("round", ("四舍五入",), (NUMBER, NUMBER), NUMBER, _round, 1, 2,
             "四舍五入：round(x) 取整，round(x, 1) 保留一位小数", "round half up: round(x), round(x, places)"),
    Function("floor", ("向下取整",), (NUMBER,), NUMBER,
             lambda x: x.to_integral_value(rounding=ROUND_FLOOR), 1, 1, "向下取整", "round down"),
    Function("ceil", ("向上取整",), (NUMBER,), NUMBER,
             lambda x: x.to_integral_value(rounding=ROUND_CEILING), 1, 1, "向上取整", "round up"),
    Function("abs", ("绝对值",), (NUMBER,), NUMBER, abs, 1, 1, "绝对值", "absolute value"),
    Function("year", ("年份",), (DATE,), NUMBER, lambda d: Decimal(d.year), 1, 1, "日期的年份", "year of a date"),
    Function("quarter", ("季度",), (DATE,), NUMBER, _quarter, 1, 1, "日期所在季度（1–4）", "quarter of a date (1-4)"),
    Function("month", ("月份",), (DATE,), NUMBER, lambda d: Decimal(d.month), 1, 1, "日期的月份", "month of a date"),
    Function("day", ("日",), (DATE,), NUMBER, lambda d: Decimal(d.day), 1, 1, "日期是几号", "day of the month"),
    Function("weekday", ("星期",), (DATE,), NUMBER, lambda d: Decimal(d.isoweekday()), 1, 1,
             "星期几（1=星期一，7=星期日）", "day of the week (1 = Monday, 7 = Sunday)"),
    Function("days_between", ("相隔天数",), (DATE, DATE), NUMBER, lambda a, b: Decimal((b - a).days), 2, 2,
             "两个日期相隔的天数", "days from the first date to the second"),
    Function("length", ("长度",), (TEXT,), NUMBER, lambda s: Decimal(len(s)), 1, 1, "文字的长度", "length of a text"),
    Function("contains", ("包含",), (TEXT, TEXT), BOOLEAN, lambda s, sub: sub in s, 2, 2,
             "文字是否包含另一段文字", "whether a text contains another"),
    Function("starts_with", ("开头是",), (TEXT, TEXT), BOOLEAN, lambda s, p: s.startswith(p), 2, 2,
             "文字是否以另一段文字开头", "whether a text starts with another"),
]

# Two functions whose arguments are not plain values; the checker and the compiler treat them
# apart: 查表(表名, 键) reads a named table of the file's ``tables:``; 近期次数(条件, 天数) counts
# the same household's counted records in the N days before the record's date meeting a
# condition (a record condition, read on each of those records).
LOOKUP = Function("lookup", ("查表",), (ANY, ANY), ANY, lambda *_: None, 2, 2,
                  "查表(表名, 键)：在 tables 中的表里查键对应的值",
                  "lookup(table, key): the value of key in one of the file's tables")
COUNT_RECENT = Function("count_recent", ("近期次数",), (BOOLEAN, NUMBER), NUMBER, lambda *_: None, 2, 2,
                        "近期次数(条件, 天数)：本户在本记录日期之前 N 天内（不含当天）满足条件的计分记录条数",
                        "count_recent(condition, days): the household's counted records in the N days "
                        "before the record's date (that date excluded) meeting the condition")
_FUNCTIONS += [LOOKUP, COUNT_RECENT]

FUNCTIONS: dict[str, Function] = {}
for _f in _FUNCTIONS:
    FUNCTIONS[_f.name] = _f
    for _alias in _f.aliases:
        FUNCTIONS[_alias] = _f


def lookup(name: str) -> Function | None:
    return FUNCTIONS.get(name) or FUNCTIONS.get(name.lower())


def param_type(f: Function, index: int) -> str:
    return f.params[min(index, len(f.params) - 1)]
