"""JSON output: the quick writer (plain types in a loop, keys and decimals made once) gives
the same text as the straightforward one (``_write``, one call per value)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import pytest

from xiangyue.report.jsonout import _write, decimal_text, dumps


class Level(enum.IntEnum):
    COUNTY = 1


class Tag(str):
    pass


class Record(dict):
    pass


def plain(obj, indent=2, sort_keys=False):
    out: list[str] = []
    _write(obj, out, indent, 0, sort_keys)
    return "".join(out)


SAMPLES = [
    {"households": [{"household": "JG001", "head": None, "total": Decimal("12.5"), "base": 0,
                     "vetoed": False, "by_rule": {"volunteer": Decimal("10"),
                                                  "sorting": Decimal("2.50")},
                     "by_category": {}},
                    {"household": "JG002", "head": "张三", "total": Decimal("-3"), "vetoed": True,
                     "by_rule": {}, "vetoes": [{"rule": "fight", "date": "2024-03-01"}]}],
     "unmatched": [], "period": "2024"},
    # equal decimals written with more digits than a float holds keep their own text
    [Decimal("0.12345678901234567890"), Decimal("0.123456789012345678900"),
     Decimal("1.50"), Decimal("1.5"), Decimal("-0"), Decimal("1E+2")],
    {1: "int key", None: "null key", True: "bool key", Decimal("2.5"): "decimal key",
     dt.date(2024, 1, 2): "date key", "中": "文\n\x1b"},
    (Tag("text subclass"), Level.COUNTY, 1.5, dt.datetime(2024, 1, 2, 3, 4), Record(a=[()]),
     [[], {}, [{"x": (1, [2])}]]),
    "just text", Decimal("7"), None, True, [],
]


@pytest.mark.parametrize("obj", SAMPLES)
@pytest.mark.parametrize("indent", [2, None, 4])
@pytest.mark.parametrize("sort_keys", [False, True])
def test_the_quick_writer_gives_the_straightforward_text(obj, indent, sort_keys):
    assert dumps(obj, indent=indent, sort_keys=sort_keys) == plain(obj, indent, sort_keys)


def test_numbers_exact():
    assert dumps([Decimal("12.50"), Decimal("0.1"), Decimal("3")], indent=None) == \
        "[12.5, 0.1, 3]"
    assert decimal_text(Decimal("0.12345678901234567890")) == "0.12345678901234567890"


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("sNaN"), [Decimal("Infinity")],
                                 {"a": Decimal("sNaN")}])
def test_no_number_for_what_is_not_one(bad):
    with pytest.raises(ValueError):
        dumps(bad)


def test_what_json_cannot_hold_is_refused():
    with pytest.raises(TypeError):
        dumps({"a": object()})
