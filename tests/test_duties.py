"""Recurring duties (村级事务清单): schedules in the rule file, periods judged as of a date.

Every expectation below is worked by hand from the rules in docs/compliance.md:
a period's window runs from its first day to its due date; a case with a period fulfils it;
one without fulfils the earliest unfulfilled period whose window holds its date, else the
earliest unfulfilled period already due (late); a further case for a fulfilled period is a
duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from xiangyue.checklists.check import check_case_file, check_cases
from xiangyue.checklists.duties import due_date, parse_from, periods_between
from xiangyue.cli.main import main
from xiangyue.errors import InputError, RulesetError
from xiangyue.periods import parse_duty_period
from xiangyue.rules.pipeline import load_ruleset

D = dt.date

HEAD = """\
xiangyue: 1
village: 测试村
name: 定期事项
version: "1"
effective: {{from: {start}}}
checklists:
"""

ITEMS = """\
  - id: finance_disclosure
    name: 财务公开
    list: 村级事务清单
    schedule: {every: quarter, due: {days: 10, after: period_end}}
  - id: affairs_disclosure
    name: 村务公开
    list: 村级事务清单
    schedule: {every: 每月, due: {days: 5, after: period_end, calendar: working}}
  - id: party_day
    name: 主题党日
    list: 村级事务清单
    schedule: {every: 月, due: {days: 0, after: period_end}}
  - id: meeting
    name: 民主评议
    list: 村级事务清单
    schedule: {every: month, due: {days: 5, after: period_start}}
  - id: income
    name: 集体经济收支
    list: 村级事务清单
    schedule: {every: 半年, due: {days: 15}}
"""


def ruleset(tmp_path: Path, items: str = ITEMS, start: str = "2024-01-01", name: str = "r.yaml"):
    path = tmp_path / name
    path.write_text(HEAD.format(start=start) + items, encoding="utf-8")
    return load_ruleset(path)


def row(case_id: str, item: str, date: str, period: str | None = None, step: str | None = None,
        line: int = 0) -> dict:
    r = {"case_id": case_id, "item": item, "date": D.fromisoformat(date), "_line": line}
    if period is not None:
        r["period"] = period
    if step is not None:
        r["step"] = step
    return r


def duties(rs, rows, as_of: str, item: str | None = None, **kw):
    report = check_cases(rs, rows, D.fromisoformat(as_of), **kw)
    return [d for d in report.duties if item is None or d.item == item]


def status(rs, rows, as_of: str, item: str) -> dict[str, tuple]:
    return {d.period: (d.status, d.date and d.date.isoformat(), d.days_late)
            for d in duties(rs, rows, as_of, item) if d.status != "duplicate"}


# --- due dates ------------------------------------------------------------------------------


def test_due_dates_in_calendar_and_working_days(tmp_path):
    rs = ruleset(tmp_path)
    fin, aff, party, meet, inc = (it.schedule for it in rs.checklists)
    q1 = parse_duty_period("2024-Q1")
    assert due_date(fin, q1) == D(2024, 4, 10)  # 10 days after 03-31
    assert due_date(party, parse_duty_period("2024-02")) == D(2024, 2, 29)  # the month itself
    assert due_date(meet, parse_duty_period("2024-02")) == D(2024, 2, 6)  # 5 days after 02-01
    assert due_date(inc, parse_duty_period("2024-H1")) == D(2024, 7, 15)  # after: period_end by default
    # 国庆: 09-30 is a Monday; 10-01..10-07 are holidays; Saturday 10-12 is a working day (调休):
    # 10-08, 10-09, 10-10, 10-11, 10-12 are the five working days
    assert due_date(aff, parse_duty_period("2024-09")) == D(2024, 10, 12)
    # 春节 2024: 01-31 is a Wednesday; 02-01 Thu, 02-02 Fri, Sunday 02-04 (调休), 02-05 Mon, 02-06 Tue
    assert due_date(aff, parse_duty_period("2024-01")) == D(2024, 2, 6)
    # 春节 2025: 01-28..02-04 are holidays; 02-05, 02-06, 02-07, Saturday 02-08 (调休), Monday 02-10
    assert due_date(aff, parse_duty_period("2025-01")) == D(2025, 2, 10)


def test_working_day_due_date_decides_late_across_guoqing(tmp_path):
    rs = ruleset(tmp_path)
    on_time = [row("W9", "村务公开", "2024-10-12", "2024-09")]
    late = [row("W9", "村务公开", "2024-10-13", "2024-09")]
    assert status(rs, on_time, "2024-10-31", "affairs_disclosure")["2024-09"] == ("compliant", "2024-10-12", None)
    # days_late counts calendar days after the due date, as the late finding does
    assert status(rs, late, "2024-10-31", "affairs_disclosure")["2024-09"] == ("late", "2024-10-13", 1)
    # nothing done: still pending on the due date (even through the holiday), missed the day after
    assert status(rs, [], "2024-10-12", "affairs_disclosure")["2024-09"][0] == "pending"
    assert status(rs, [], "2024-10-13", "affairs_disclosure")["2024-09"][0] == "missed"


# --- the boundaries of one period -----------------------------------------------------------


def test_done_on_the_due_date_is_compliant(tmp_path):
    rs = ruleset(tmp_path)
    got = status(rs, [row("F1", "财务公开", "2024-04-10")], "2024-04-30", "finance_disclosure")
    assert got == {"2024-Q1": ("compliant", "2024-04-10", None), "2024-Q2": ("pending", None, None)}


def test_done_the_day_after_is_late_by_one(tmp_path):
    rs = ruleset(tmp_path)
    got = status(rs, [row("F1", "财务公开", "2024-04-11", "2024-Q1")], "2024-04-30", "finance_disclosure")
    assert got["2024-Q1"] == ("late", "2024-04-11", 1)


def test_never_done_is_pending_until_the_due_date_passes_then_missed(tmp_path):
    rs = ruleset(tmp_path)
    assert status(rs, [], "2024-03-31", "finance_disclosure") == {"2024-Q1": ("pending", None, None)}
    assert status(rs, [], "2024-04-10", "finance_disclosure") == {"2024-Q1": ("pending", None, None),
                                                                   "2024-Q2": ("pending", None, None)}
    assert status(rs, [], "2024-04-11", "finance_disclosure")["2024-Q1"] == ("missed", None, None)


def test_a_period_within_itself(tmp_path):
    """主题党日 due on the month's last day: the 1st of the next month is late."""
    rs = ruleset(tmp_path)
    rows = [row("P1", "主题党日", "2024-01-31"), row("P2", "主题党日", "2024-03-01", "2024-02")]
    got = status(rs, rows, "2024-03-15", "party_day")
    assert got == {"2024-01": ("compliant", "2024-01-31", None), "2024-02": ("late", "2024-03-01", 1),
                   "2024-03": ("pending", None, None)}


# --- which period a case fulfils ------------------------------------------------------------


def test_a_case_without_a_period_fills_the_earliest_open_window(tmp_path):
    rs = ruleset(tmp_path)
    # 04-05 lies in Q1's window (01-01..04-10) and in Q2's (04-01..07-10): Q1, the earliest
    assert status(rs, [row("F1", "财务公开", "2024-04-05")], "2024-04-30", "finance_disclosure")["2024-Q1"] == (
        "compliant", "2024-04-05", None)
    # with Q1 done, the next case in both windows fills Q2
    rows = [row("F1", "财务公开", "2024-03-20"), row("F2", "财务公开", "2024-04-05")]
    got = status(rs, rows, "2024-04-30", "finance_disclosure")
    assert got == {"2024-Q1": ("compliant", "2024-03-20", None), "2024-Q2": ("compliant", "2024-04-05", None)}
    # a case that names Q2 is placed first: the loose 04-05 case then fills Q1
    rows = [row("F1", "财务公开", "2024-04-05"), row("F2", "财务公开", "2024-04-20", "2024-Q2")]
    got = status(rs, rows, "2024-04-30", "finance_disclosure")
    assert got == {"2024-Q1": ("compliant", "2024-04-05", None), "2024-Q2": ("compliant", "2024-04-20", None)}


def test_a_case_without_a_period_in_no_window_fills_the_earliest_past_period_late(tmp_path):
    rs = ruleset(tmp_path)
    # 民主评议: due 5 days after the month's first day; windows 01-01..01-06, 02-01..02-06
    rows = [row("M1", "民主评议", "2024-01-20"), row("M2", "民主评议", "2024-01-25")]
    got = status(rs, rows, "2024-02-10", "meeting")
    # 01-20 is in no window: January, late by 14; 01-25 neither, and January is fulfilled
    assert got == {"2024-01": ("late", "2024-01-20", 14), "2024-02": ("missed", None, None)}
    dup = [d for d in duties(rs, rows, "2024-02-10", "meeting") if d.status == "duplicate"]
    assert [(d.period, d.case_id, d.fulfilled_by) for d in dup] == [("2024-01", "M2", "M1")]


def test_a_late_case_without_a_period_counts_for_the_period_whose_window_holds_it(tmp_path):
    """The rule as written: Q1's disclosure done on 04-15 without a period is Q2's (its window
    holds 04-15), and Q1 stays missed — give the period to say it is Q1's."""
    rs = ruleset(tmp_path)
    got = status(rs, [row("F1", "财务公开", "2024-04-15")], "2024-04-30", "finance_disclosure")
    assert got == {"2024-Q1": ("missed", None, None), "2024-Q2": ("compliant", "2024-04-15", None)}


def test_two_cases_for_one_period(tmp_path):
    rs = ruleset(tmp_path)
    rows = [row("F2", "财务公开", "2024-04-08", "2024-Q1"), row("F1", "财务公开", "2024-04-02", "2024年第一季度")]
    ds = duties(rs, rows, "2024-04-30", "finance_disclosure")
    # the earlier one fulfils Q1; the other is reported, not counted (Q2 is not taken by it)
    assert [(d.period, d.status, d.case_id) for d in ds] == [
        ("2024-Q1", "compliant", "F1"), ("2024-Q1", "duplicate", "F2"), ("2024-Q2", "pending", None)]
    assert ds[1].to_json()["fulfilled_by"] == "F1"
    report = check_cases(rs, rows, D(2024, 4, 30))
    fin = report.summary()["duties"]["by_item"]["finance_disclosure"]
    assert (fin["total"], fin["compliant"], fin["pending"], fin["duplicate"]) == (2, 1, 1, 1)


def test_cases_after_the_as_of_date_are_not_counted(tmp_path):
    rs = ruleset(tmp_path)
    got = status(rs, [row("F1", "财务公开", "2024-04-10")], "2024-04-09", "finance_disclosure")
    assert got == {"2024-Q1": ("pending", None, None), "2024-Q2": ("pending", None, None)}


def test_half_years_and_their_chinese_names(tmp_path):
    rs = ruleset(tmp_path)
    rows = [row("I1", "集体经济收支", "2024-07-16", "2024上半年"), row("I2", "集体经济收支", "2024-12-20", "2024-H2")]
    assert status(rs, rows, "2025-01-20", "income") == {
        "2024-H1": ("late", "2024-07-16", 1), "2024-H2": ("compliant", "2024-12-20", None),
        "2025-H1": ("pending", None, None)}


def test_an_item_with_a_procedure_is_done_when_its_last_step_is(tmp_path):
    items = """\
  - id: open_day
    name: 党务公开
    list: 村级事务清单
    schedule: {every: quarter, due: {days: 10}}
    procedures:
      - steps: [审核, 公开]
"""
    rs = ruleset(tmp_path, items)
    rows = [row("O1", "党务公开", "2024-04-01", "2024-Q1", step="审核"),
            row("O1", "党务公开", "2024-04-12", step="公开"),  # the period given once is the case's
            row("O2", "党务公开", "2024-06-01", step="审核")]
    report = check_cases(rs, rows, D(2024, 7, 20))
    # the cases are still checked step by step ...
    assert [(c.case_id, c.status) for c in report.cases] == [("O1", "compliant"), ("O2", "pending")]
    # ... and O1 fulfils Q1 on 04-12 (late 2); O2 is not done, so Q2 is missed
    got = {d.period: (d.status, d.days_late) for d in report.duties}
    assert got == {"2024-Q1": ("late", 2), "2024-Q2": ("missed", None), "2024-Q3": ("pending", None)}


# --- the judged range -----------------------------------------------------------------------


def test_a_quarter_of_the_effective_year_before_effective_from(tmp_path):
    rs = ruleset(tmp_path, start="2024-04-01")
    # Q1 2024 ended before the rules took effect: not judged, so not missed
    assert status(rs, [], "2024-07-11", "finance_disclosure") == {"2024-Q2": ("missed", None, None),
                                                                   "2024-Q3": ("pending", None, None)}
    # a case dated before effective.from is an input error with its row
    with pytest.raises(InputError) as err:
        check_cases(rs, [row("F1", "财务公开", "2024-03-20", line=3)], D(2024, 7, 11), file="c.csv")
    (d,) = err.value.diagnostics
    assert (d.code, d.file, d.line, d.column) == ("E-DUTY-BEFORE-EFFECTIVE", "c.csv", 3, "日期")
    assert d.message() == "事项 F1 的日期 2024-03-20 早于规则生效日期 2024-04-01"
    # so is a case that names a period before it
    with pytest.raises(InputError) as err:
        check_cases(rs, [row("F1", "财务公开", "2024-04-05", "2024-Q1", line=4)], D(2024, 7, 11), file="c.csv")
    assert [(d.code, d.line, d.column) for d in err.value.diagnostics] == [("E-DUTY-PERIOD-RANGE", 4, "期间")]


def test_a_period_partly_in_force_is_judged(tmp_path):
    rs = ruleset(tmp_path, start="2024-02-15")
    assert list(status(rs, [], "2024-04-30", "finance_disclosure")) == ["2024-Q1", "2024-Q2"]


def test_from_starts_later_but_never_before_effective_from(tmp_path):
    rs = ruleset(tmp_path)
    assert list(status(rs, [], "2024-08-01", "finance_disclosure")) == ["2024-Q1", "2024-Q2", "2024-Q3"]
    got = duties(rs, [], "2024-08-01", "finance_disclosure", start=parse_from("2024-Q2"))
    assert [d.period for d in got] == ["2024-Q2", "2024-Q3"]
    got = duties(rs, [], "2024-08-01", "finance_disclosure", start=parse_from("2023-01-01"))
    assert [d.period for d in got] == ["2024-Q1", "2024-Q2", "2024-Q3"]
    # a case before --from (but after effective.from) is simply outside the report
    got = duties(rs, [row("F1", "财务公开", "2024-03-01")], "2024-08-01", "finance_disclosure",
                 start=parse_from("2024-04-01"))
    assert [d.status for d in got] == ["missed", "pending"]
    with pytest.raises(InputError) as err:
        parse_from("next week")
    assert err.value.diagnostics[0].code == "E-DUTY-FROM"


def test_the_judged_periods_stop_at_effective_until(tmp_path):
    items = ITEMS.replace("checklists:", "")
    path = tmp_path / "u.yaml"
    path.write_text(HEAD.format(start="2024-01-01").replace("effective: {from: 2024-01-01}",
                                                             "effective: {from: 2024-01-01, until: 2024-06-30}")
                    + items, encoding="utf-8")
    rs = load_ruleset(path)
    got = duties(rs, [row("F1", "财务公开", "2024-07-05")], "2024-12-31", "finance_disclosure")
    assert [(d.period, d.status) for d in got] == [("2024-Q1", "missed"), ("2024-Q2", "compliant")]


def test_periods_between():
    assert [p.key for p in periods_between("half_year", D(2024, 3, 1), D(2025, 1, 1))] == [
        "2024-H1", "2024-H2", "2025-H1"]
    assert periods_between("month", D(2024, 3, 1), D(2024, 2, 1)) == []


# --- bad input ------------------------------------------------------------------------------


def test_a_period_that_is_not_one_of_the_schedule_is_an_error_with_its_row(tmp_path):
    rs = ruleset(tmp_path)
    rows = [row("F1", "财务公开", "2024-04-01", "2024-03", line=2), row("F2", "财务公开", "2024-04-02", "明年", line=3),
            row("W1", "村务公开", "2024-04-02", "2024-Q1", line=4)]
    with pytest.raises(InputError) as err:
        check_cases(rs, rows, D(2024, 6, 30), file="c.csv")
    got = [(d.code, d.line, d.column) for d in err.value.diagnostics]
    assert got == [("E-DUTY-PERIOD-KIND", 2, "期间"), ("E-DUTY-PERIOD", 3, "期间"), ("E-DUTY-PERIOD-KIND", 4, "期间")]
    d = err.value.diagnostics[0]
    assert d.message() == "期间“2024-03”不是“财务公开”的一个期间：该事项每季度一次"
    assert d.hint("en") == "write the period as 2024-Q1"


def test_schedule_checks_with_positions_and_hints(tmp_path):
    items = """\
  - id: a
    name: 甲
    list: 村级事务清单
    schedule: {every: quater, due: {days: 10}}
  - id: b
    name: 乙
    list: 村级事务清单
    schedule: {every: 每季度, due: {days: -3}}
  - id: c
    name: 丙
    list: 村级事务清单
"""
    with pytest.raises(RulesetError) as err:
        ruleset(tmp_path, items)
    got = {(d.code, d.line, d.column) for d in err.value.diagnostics if d.severity == "error"}
    assert ("E-SCHEDULE-EVERY", 10, 23) in got
    assert any(code == "E-SCHEMA-RANGE" and line == 14 for code, line, _ in got)
    assert any(code == "E-ITEM-EMPTY" and line == 15 for code, line, _ in got)
    every = next(d for d in err.value.diagnostics if d.code == "E-SCHEDULE-EVERY")
    assert "quarter" in every.hint("en") and "每季度" in every.hint("zh")


def test_a_window_longer_than_the_period_is_allowed_with_a_hint(tmp_path):
    items = """\
  - id: a
    name: 甲
    list: 村级事务清单
    schedule: {every: month, due: {days: 40, after: period_end}}
  - id: b
    name: 乙
    list: 村级事务清单
    schedule: {every: year, due: {days: 30}}
"""
    rs = ruleset(tmp_path, items)
    warnings = [(d.code, d.line) for d in rs.warnings]
    assert warnings == [("W-SCHEDULE-OVERLAP", 10)]
    # overlapping windows: Jan's runs to 03-11, Feb's from 02-01; a case on 02-20 fills January
    got = status(rs, [row("A1", "甲", "2024-02-20"), row("A2", "甲", "2024-02-21")], "2024-03-12", "a")
    assert got == {"2024-01": ("compliant", "2024-02-20", None), "2024-02": ("compliant", "2024-02-21", None),
                   "2024-03": ("pending", None, None)}


def test_no_effective_from_and_no_from_is_an_input_error(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text(HEAD.format(start="x").replace("effective: {from: x}\n", "") + ITEMS, encoding="utf-8")
    rs = load_ruleset(path)
    # validate says so ahead (a warning: check --from can still give the start)
    assert {d.code for d in rs.warnings} == {"W-SCHEDULE-NO-START"}
    with pytest.raises(InputError) as err:
        check_cases(rs, [], D(2024, 6, 30))
    assert err.value.diagnostics[0].code == "E-DUTY-NO-START"
    assert len(check_cases(rs, [], D(2024, 1, 31), start=D(2024, 1, 1)).duties) == 5


# --- an invariant ---------------------------------------------------------------------------

DATES = st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 12, 31))


@pytest.fixture(scope="module")
def shared_rs(tmp_path_factory):
    return ruleset(tmp_path_factory.mktemp("rs"))


@settings(max_examples=60, deadline=None)
@given(days=st.lists(DATES, max_size=12), as_of=DATES)
def test_every_counted_case_fulfils_one_period_or_is_a_duplicate(shared_rs, days, as_of):
    rs = shared_rs
    rows = [row(f"F{i}", "财务公开", d.isoformat()) for i, d in enumerate(days)]
    ds = duties(rs, rows, as_of.isoformat(), "finance_disclosure")
    periods = [d for d in ds if d.status != "duplicate"]
    # every quarter from effective.from to the as-of date, once
    assert [d.period for d in periods] == [f"2024-Q{q}" for q in range(1, (as_of.month - 1) // 3 + 2)]
    counted = [d for d in ds if d.date is not None]
    assert sorted(d.case_id for d in counted) == sorted(r["case_id"] for r in rows if r["date"] <= as_of)
    for d in periods:
        assert d.status == ("compliant" if d.date and d.date <= d.due else "late" if d.date
                            else "missed" if as_of > d.due else "pending")
        if d.status == "late":
            assert d.days_late == (d.date - d.due).days > 0


# --- the command ----------------------------------------------------------------------------


def write_cases(tmp_path: Path, text: str) -> str:
    path = tmp_path / "cases.csv"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_check_json_shape_and_exit_codes(tmp_path):
    rs_path = tmp_path / "r.yaml"
    ruleset(tmp_path)
    cases = write_cases(tmp_path, """\
        事项编号,清单事项,标题,日期,期间
        F1,财务公开,一季度,2024-04-11,2024-Q1
        W1,村务公开,,2024-02-06,
        """)
    runner = CliRunner()
    result = runner.invoke(main, ["check", str(rs_path), "--cases", cases, "--as-of", "2024-02-29",
                                  "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # January's 主题党日 and 民主评议 were missed
    out = json.loads(result.output)
    assert out["cases"] == []
    first = out["duties"][0]
    assert set(first) >= {"item", "name", "list", "period", "due", "status", "date", "days_late"}
    rows = [(d["item"], d["period"], d["due"], d["status"], d["date"], d["days_late"]) for d in out["duties"]]
    assert rows == [
        ("finance_disclosure", "2024-Q1", "2024-04-10", "pending", None, None),
        ("affairs_disclosure", "2024-01", "2024-02-06", "compliant", "2024-02-06", None),
        ("affairs_disclosure", "2024-02", "2024-03-07", "pending", None, None),
        ("party_day", "2024-01", "2024-01-31", "missed", None, None),
        ("party_day", "2024-02", "2024-02-29", "pending", None, None),
        ("meeting", "2024-01", "2024-01-06", "missed", None, None),
        ("meeting", "2024-02", "2024-02-06", "missed", None, None),
        ("income", "2024-H1", "2024-07-15", "pending", None, None),
    ]
    summary = out["summary"]["duties"]
    assert {k: summary[k] for k in ("total", "compliant", "late", "missed", "pending", "duplicate")} == {
        "total": 8, "compliant": 1, "late": 0, "missed": 3, "pending": 4, "duplicate": 0}
    # the late Q1 disclosure and the missed duties: exit 1
    late = runner.invoke(main, ["check", str(rs_path), "--cases", cases, "--as-of", "2024-04-30",
                                "--format", "json"], catch_exceptions=False)
    assert late.exit_code == 1
    q1 = json.loads(late.output)["duties"][0]
    assert (q1["status"], q1["date"], q1["days_late"], q1["case_id"]) == ("late", "2024-04-11", 1, "F1")


def test_check_bad_period_exits_2_with_the_row(tmp_path):
    ruleset(tmp_path)
    cases = write_cases(tmp_path, """\
        事项编号,清单事项,日期,期间
        F1,财务公开,2024-04-11,2024-02
        """)
    result = CliRunner().invoke(main, ["check", str(tmp_path / "r.yaml"), "--cases", cases,
                                       "--as-of", "2024-04-30"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "cases.csv:2:期间: E-DUTY-PERIOD-KIND" in result.output


def test_grid_under_the_case_report_in_every_format(tmp_path):
    ruleset(tmp_path)
    cases = write_cases(tmp_path, """\
        事项编号,清单事项,日期,期间
        F1,财务公开,2024-04-11,2024-Q1
        F2,财务公开,2024-04-12,2024-Q1
        W1,村务公开,2024-02-06,
        """)
    runner = CliRunner()
    base = ["check", str(tmp_path / "r.yaml"), "--cases", cases, "--as-of", "2024-04-30"]
    table = runner.invoke(main, base).output
    assert "村级事务清单  财务公开  2024  迟1+1   …\n" in table
    assert "村级事务清单  村务公开  2024  ✓    ✗    ✗    …" in table
    assert "财务公开 2024-Q1：F2（2024-04-12）重复，本期已由 F1 完成，不重复计算" in table
    en = runner.invoke(main, [*base, "--lang", "en"]).output
    assert "村级事务清单  财务公开  2024  L1+1  …" in en
    csv_text = runner.invoke(main, [*base, "--format", "csv"]).output
    assert "村级事务清单,财务公开,2024,迟1+1,…,," in csv_text
    assert "村级事务清单,finance_disclosure,财务公开,2024-Q1,2024-04-10,逾期完成,2024-04-11,1,F1" in csv_text
    html_text = runner.invoke(main, [*base, "--format", "html"]).output
    assert '<td class="m late">迟1+1</td>' in html_text and '<td class="m missed">✗</td>' in html_text


def test_cases_import_takes_one_row_duties_and_check_reads_them(tmp_path):
    ruleset(tmp_path)
    cases = write_cases(tmp_path, """\
        事项编号,清单事项,步骤,日期,期间
        F1,财务公开,,2024-04-11,2024-Q1
        C1,村务公开,,2024-02-05,
        """)
    db = str(tmp_path / "v.db")
    runner = CliRunner()
    imported = runner.invoke(main, ["cases", "import", cases, "--db", db, "-r", str(tmp_path / "r.yaml")])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(main, ["check", str(tmp_path / "r.yaml"), "--db", db, "--as-of", "2024-04-30",
                                  "--format", "json", "--from", "2024-Q1"])
    got = {(d["item"], d["period"]): d["status"] for d in json.loads(result.output)["duties"]}
    assert got[("finance_disclosure", "2024-Q1")] == "late"
    assert got[("affairs_disclosure", "2024-01")] == "compliant"


def test_an_empty_step_is_still_an_error_for_an_item_with_a_procedure(tmp_path):
    rs = load_ruleset(Path(__file__).parent / "cases" / "checklists" / "jingou-lists.yaml")
    cases = write_cases(tmp_path, """\
        事项编号,清单事项,步骤,日期
        C1,证明开具,,2024-04-11
        """)
    with pytest.raises(InputError) as err:
        check_case_file(rs, cases, D(2024, 4, 30))
    assert [(d.code, d.line, d.column) for d in err.value.diagnostics] == [("E-CASE-MISSING", 2, "步骤")]
    runner = CliRunner()
    imported = runner.invoke(main, ["cases", "import", cases, "--db", str(tmp_path / "v.db"), "-r",
                                    str(Path(__file__).parent / "cases" / "checklists" / "jingou-lists.yaml")])
    assert imported.exit_code == 2 and "cases.csv:2:步骤: E-IMPORT-CASE-NO-STEP" in imported.output


def test_items_without_a_schedule_report_as_before(tmp_path):
    rs = load_ruleset(Path(__file__).parent / "cases" / "checklists" / "jingou-lists.yaml")
    report = check_case_file(rs, str(Path(__file__).parent / "cases" / "checklists" / "clean_cases.csv"),
                             D(2024, 6, 29))
    out = report.to_json()
    assert out["duties"] == [] and "duties" not in out["summary"]
    assert not report.has_failed_duties


def test_diff_names_a_changed_schedule(tmp_path):
    ruleset(tmp_path)
    changed = ITEMS.replace("{every: quarter, due: {days: 10, after: period_end}}",
                            "{every: quarter, due: {days: 15, after: period_end}}")
    ruleset(tmp_path, changed, name="r2.yaml")
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "r.yaml"), str(tmp_path / "r2.yaml")])
    assert "清单事项 finance_disclosure：周期由“每季度，期末后 10 日内”改为“每季度，期末后 15 日内”" in result.output


def test_xlsx_period_typed_as_a_date_by_excel(tmp_path):
    """Excel turns 2024-03 typed into a cell into the date 2024-03-01: for a monthly item that
    is March; a number 2024 is the year."""
    openpyxl = pytest.importorskip("openpyxl")
    rs = ruleset(tmp_path)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["事项编号", "清单事项", "日期", "期间"])
    ws.append(["W3", "村务公开", dt.datetime(2024, 4, 20), dt.datetime(2024, 3, 1)])
    ws["C2"].number_format = ws["D2"].number_format = "yyyy-mm-dd"
    ws.append(["W1", "村务公开", dt.datetime(2024, 2, 1), None])
    path = tmp_path / "事项.xlsx"
    wb.save(path)
    report = check_case_file(rs, str(path), D(2024, 4, 30))
    got = {d.period: (d.status, d.case_id, d.days_late) for d in report.duties if d.item == "affairs_disclosure"}
    assert got == {"2024-01": ("compliant", "W1", None), "2024-02": ("missed", None, None),
                   "2024-03": ("late", "W3", 12), "2024-04": ("pending", None, None)}


def test_a_one_row_case_written_twice_is_an_error_in_check_and_import(tmp_path):
    ruleset(tmp_path)
    cases = write_cases(tmp_path, """\
        事项编号,清单事项,日期
        F1,财务公开,2024-04-01
        F1,财务公开,2024-04-02
        """)
    runner = CliRunner()
    checked = runner.invoke(main, ["check", str(tmp_path / "r.yaml"), "--cases", cases, "--as-of", "2024-05-01"])
    assert checked.exit_code == 2
    assert "cases.csv:3:日期: E-CASE-DUTY-TWICE: 事项 F1 写了两行（第一次在第 2 行）" in checked.output
    imported = runner.invoke(main, ["cases", "import", cases, "--db", str(tmp_path / "v.db"), "-r",
                                    str(tmp_path / "r.yaml")])
    assert imported.exit_code == 2
    assert "cases.csv:3:事项编号: E-IMPORT-CASE-DUTY-DUP" in imported.output


def test_rule_file_examples_may_expect_duties(tmp_path):
    example = """\
examples:
  - name: 财务公开
    as_of: 2024-05-10
    cases:
      - {事项编号: D01, 清单事项: 财务公开, 日期: 2024-04-11, 期间: 2024-Q1}
    expect:
      duties:
        财务公开: {2024-Q1: %s, 2024-Q2: pending}
"""
    runner = CliRunner()
    ruleset(tmp_path, ITEMS + example % "late")
    assert runner.invoke(main, ["test", str(tmp_path / "r.yaml")]).exit_code == 0
    ruleset(tmp_path, ITEMS + example % "compliant")
    failed = runner.invoke(main, ["test", str(tmp_path / "r.yaml")])
    assert failed.exit_code == 1
    assert "duties.财务公开.2024-Q1：期望 compliant，实际 late" in failed.output
    assert "2024-Q1：期限 2024-04-10，2024-04-11 完成（D01）" in failed.output


def test_a_bad_period_in_the_database_points_at_the_imported_file(tmp_path):
    ruleset(tmp_path)
    cases = write_cases(tmp_path, """\
        事项编号,清单事项,日期,期间
        W1,村务公开,2024-02-05,
        F1,财务公开,2024-04-11,2024-04
        """)
    db = str(tmp_path / "v.db")
    runner = CliRunner()
    assert runner.invoke(main, ["cases", "import", cases, "--db", db, "-r", str(tmp_path / "r.yaml")]).exit_code == 0
    result = runner.invoke(main, ["check", str(tmp_path / "r.yaml"), "--db", db, "--as-of", "2024-04-30"])
    assert result.exit_code == 2
    assert "cases.csv:3:期间: E-DUTY-PERIOD-KIND" in result.output


def test_a_period_after_effective_until_is_an_error(tmp_path):
    path = tmp_path / "u.yaml"
    path.write_text(HEAD.format(start="2024-01-01").replace("effective: {from: 2024-01-01}",
                                                             "effective: {from: 2024-01-01, until: 2024-06-30}")
                    + ITEMS, encoding="utf-8")
    rs = load_ruleset(path)
    with pytest.raises(InputError) as err:
        check_cases(rs, [row("F1", "财务公开", "2024-06-20", "2024-Q3", line=2)], D(2024, 12, 31), file="c.csv")
    assert [(d.code, d.line) for d in err.value.diagnostics] == [("E-DUTY-PERIOD-AFTER", 2)]
