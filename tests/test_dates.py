"""Dates and periods in every form a Chinese spreadsheet or clerk writes them, for cells and
for --period, --as-of and --date alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.errors import InputError
from xiangyue.periods import DateTextError, parse_date_text, parse_period

RULES = str(Path(__file__).parent / "data" / "jingou.yaml")
CASES = str(Path(__file__).parent / "data" / "cases.csv")


@pytest.mark.parametrize("text, key", [
    ("2024-Q1", "2024-Q1"), ("2024Q1", "2024-Q1"), ("2024q2", "2024-Q2"),
    ("2024年第一季度", "2024-Q1"), ("2024年一季度", "2024-Q1"), ("2024年第4季度", "2024-Q4"),
    ("2024-03", "2024-03"), ("2024-3", "2024-03"), ("2024年3月", "2024-03"),
    ("２０２４年３月", "2024-03"), ("2024", "2024"), ("2024年", "2024"),
])
def test_period_forms(text, key):
    assert parse_period(text).key == key


@pytest.mark.parametrize("text", ["2024-13", "2024年第五季度", "24年", "Q1", ""])
def test_periods_that_are_not(text):
    with pytest.raises(InputError):
        parse_period(text)


@pytest.mark.parametrize("text", [
    "2024-03-05", "2024/3/5", "2024-3-5", "2024.3.5", "2024年3月5日", "2024年3月5号",
    "2024/3/5 14:30", "2024-03-05T14:30:00", "20240305", "２０２４／３／５",
])
def test_date_forms(text):
    assert parse_date_text(text) == dt.date(2024, 3, 5)


@pytest.mark.parametrize("text, kind", [("2024-02-30", "day"), ("2024年2月30日", "day"),
                                        ("3/5", "form"), ("昨天", "form")])
def test_dates_that_are_not(text, kind):
    with pytest.raises(DateTextError) as info:
        parse_date_text(text)
    assert info.value.kind == kind


def test_check_as_of_in_the_clerks_form(tmp_path):
    runner = CliRunner()
    a = runner.invoke(main, ["check", RULES, "--cases", CASES, "--as-of", "2024-6-30",
                             "--format", "json"])
    b = runner.invoke(main, ["check", RULES, "--cases", CASES, "--as-of", "2024-06-30",
                             "--format", "json"])
    assert a.exit_code == b.exit_code and a.stdout == b.stdout and a.exit_code in (0, 1)
    bad = runner.invoke(main, ["check", RULES, "--cases", CASES, "--as-of", "2024-2-30"])
    assert bad.exit_code == 2 and "E-AS-OF-DAY" in bad.stderr
