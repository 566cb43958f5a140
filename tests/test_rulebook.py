"""The rule language of a real rulebook (issue 12), worked by hand at its boundaries: count
limits per day, ISO weeks across a month boundary, escalation over the whole history, the
file-level ``counted_when`` filter, limits counting what was actually awarded, earned and
deducted totals, Chinese enum words, and the slips fixed with them.

Every expected number is worked out in the comment beside it.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue.errors import RulesetError
from xiangyue.periods import parse_period
from xiangyue.points.evaluate import evaluate as door
from xiangyue.points.explain import explain, story_text
from xiangyue.points.inputs import Inputs, read_records_file, typed_households, typed_records
from xiangyue.report.points import render_table, to_json
from xiangyue.rules.pipeline import load_ruleset

D = Decimal

HEAD = """\
xiangyue: 1
village: 测试村
name: 细则
version: "1"
fields:
  - {id: activity, label: 事项, type: text}
  - {id: quantity, label: 数量, type: decimal, default: 1}
  - {id: status, label: 状态, type: text, values: [已审核, 待审核]}
"""


def load(tmp_path: Path, body: str, head: str = HEAD):
    p = tmp_path / "rules.yaml"
    p.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return load_ruleset(p)


def recs(rs, *rows):
    """Records from (id, household, date, activity[, quantity[, status]]) tuples."""
    out = []
    for row in rows:
        d = {"record_id": row[0], "household": row[1], "date": row[2], "activity": row[3]}
        if len(row) > 4 and row[4] is not None:
            d["quantity"] = row[4]
        if len(row) > 5:
            d["status"] = row[5]
        out.append(d)
    return typed_records(rs, out)


def run(rs, records, period, households=None, engine="reference"):
    hh = typed_households(rs, [{"household": h} for h in households]) if households else None
    return door(rs, Inputs(records, hh), parse_period(period), engine=engine)


def awarded(ev):
    return [(e.record_id, e.rule, e.awarded) for e in ev.ledger if e.record_id is not None]


# -- count limits ---------------------------------------------------------------------------

DAILY = """\
categories: [{id: 环境}]
rules:
  - id: sort
    name: 分类检查
    category: 环境
    when: 事项 == "分类检查"
    points: 数量
    limit: [{times: 1, per: 天}, {times: 4, per: 月}, {max: 10, per: month}]
"""


def test_count_limit_at_n_and_n_plus_one_on_the_same_day(tmp_path):
    one = DAILY.replace("[{times: 1, per: 天}, {times: 4, per: 月}, {max: 10, per: month}]",
                        "{times: 1, per: 天}")
    for body, engines in ((DAILY, ("reference", "auto")), (one, ("reference", "fast"))):
        rs = load(tmp_path, body)
        for engine in engines:
            ev = run(rs, recs(rs, ("A", "H1", "2024-03-01", "分类检查", "2"),
                              ("B", "H1", "2024-03-01", "分类检查", "2"),  # 2nd that day: 0
                              ("C", "H1", "2024-03-02", "分类检查", "3")), "2024-03", engine=engine)
            assert awarded(ev) == [("A", "sort", 2), ("B", "sort", 0), ("C", "sort", 3)]
            b = ev.ledger[1]
            assert b.reasons == ({"limit": "cap", "per": "day", "period": "2024-03-01", "times": 1,
                                  "used": 1},)
            assert ev.results[0].total == 5
    assert ev.engine.engine == "fast"


def test_monthly_count_and_points_limits_each_bite_and_explain_names_the_one(tmp_path):
    rs = load(tmp_path, DAILY)
    rows = [(f"R{d}", "H1", f"2024-03-{d:02d}", "分类检查", "2") for d in range(1, 7)]
    ev = run(rs, recs(rs, *rows), "2024-03")
    # 2 each on days 1-4 (4 records = the monthly count); days 5 and 6 get 0 by times: 4
    assert [a for _, _, a in awarded(ev)] == [2, 2, 2, 2, 0, 0]
    assert ev.ledger[4].reasons[0] == {"limit": "cap", "per": "month", "period": "2024-03",
                                       "times": 4, "used": 4}
    s = explain(rs, recs(rs, *rows), None, parse_period("2024-03"), "H1")
    line = story_text(s).splitlines()[5]
    assert line == "3月5日 分类检查 ×2：按“分类检查”应得 2 分；本月分类检查已记 4 次，每月限 4 次，实得 0 分"
    # the points limit bites first when it is reached first: 4 + 4 + 3 (of 4) = 10 at most
    big = [(f"R{d}", "H1", f"2024-03-{d:02d}", "分类检查", "4") for d in range(1, 4)]
    ev = run(rs, recs(rs, *big), "2024-03")
    assert [a for _, _, a in awarded(ev)] == [4, 4, 2]
    assert ev.ledger[2].reasons[0]["max"] == 10


def test_a_record_cut_to_nothing_does_not_use_up_a_count(tmp_path):
    # the category allows 3 points a day; the rule allows 2 records a day. Record A takes the
    # 3 points; B gets 0 from the category, so it is not one of the rule's 2 records: C, a
    # new day... and D on the same day as A and B is still the rule's 2nd record of that day.
    rs = load(tmp_path, """\
        categories: [{id: 环境, limit: {max: 3, per: day}}]
        rules:
          - {id: a, category: 环境, when: 事项 == "甲", points: 3, limit: {times: 2, per: day}}
          - {id: b, category: 环境, when: 事项 == "乙", points: 1}
        """)
    ev = run(rs, recs(rs, ("A", "H1", "2024-03-01", "甲"), ("B", "H1", "2024-03-01", "甲"),
                      ("C", "H1", "2024-03-02", "乙"), ("D", "H1", "2024-03-02", "甲")),
             "2024-03")
    assert awarded(ev) == [("A", "a", 3), ("B", "a", 0), ("C", "b", 1), ("D", "a", 2)]
    assert ev.ledger[1].reasons[0]["limit"] == "category_cap"


# -- limits count what was actually awarded ---------------------------------------------------

def test_a_quarterly_rule_limit_counts_what_the_category_let_through(tmp_path):
    # The slip: rule at most 20 a quarter, category at most 12 a month. January: the
    # rule computes 16, the category cuts it to 12. February: the rule's quarterly room is
    # 20 - 12 = 8 (what the household got), not 20 - 16 = 4.
    rs = load(tmp_path, """\
        categories: [{id: 文明, limit: {max: 12, per: month}}]
        rules:
          - {id: v, name: 志愿, category: 文明, when: 事项 == "志愿", points: 数量,
             limit: {max: 20, per: quarter}}
        """)
    records = recs(rs, ("J", "H1", "2024-01-10", "志愿", "16"), ("F", "H1", "2024-02-10", "志愿", "10"))
    for engine in ("reference", "auto"):
        ev = run(rs, records, "2024-Q1", engine=engine)
        assert awarded(ev) == [("J", "v", 12), ("F", "v", 8)]
        assert ev.results[0].total == 20
    assert ev.engine.engine == "reference"  # a quarterly limit inside a monthly one
    assert "inside its category's limit per month" in ev.engine.reason
    f = ev.ledger[1]
    assert f.reasons == ({"limit": "cap", "per": "quarter", "period": "2024-Q1", "max": 20,
                          "used": 12, "left": 8},)
    s = explain(rs, records, None, parse_period("2024-Q1"), "H1")
    lines = story_text(s).splitlines()
    assert "本月文明类已得 0 分，封顶 12 分，实得 12 分" in lines[1]
    assert "本季度志愿已得 12 分，封顶 20 分，实得 8 分" in lines[2]


# -- periods -------------------------------------------------------------------------------

def test_a_week_across_a_month_boundary_is_one_week(tmp_path):
    # 2024-04-29 (Mon) .. 2024-05-05 (Sun) is ISO week 2024-W18: one record a week counts
    rs = load(tmp_path, """\
        rules:
          - {id: w, when: 事项 == "巡河", points: 2, limit: {times: 1, per: 周}}
        """)
    for engine in ("reference", "fast"):  # the columnar evaluator counts weeks too
        records = recs(rs, ("A", "H1", "2024-04-30", "巡河"), ("B", "H1", "2024-05-02", "巡河"),
                       ("C", "H1", "2024-05-06", "巡河"))
        ev = run(rs, records, "2024-05", engine=engine)
        assert awarded(ev) == [("B", "w", 0), ("C", "w", 2)]  # A (April) used up W18
        assert ev.ledger[0].reasons == ({"limit": "cap", "per": "week", "period": "2024-W18",
                                         "times": 1, "used": 1},)
        assert ev.results[0].total == 2
        # the week of 1 January 2025 started on Monday 30 December 2024 (ISO week 2025-W01)
        records = recs(rs, ("A", "H1", "2024-12-30", "巡河"), ("B", "H1", "2025-01-02", "巡河"))
        ev = run(rs, records, "2025-01", engine=engine)
        assert awarded(ev) == [("B", "w", 0)]
        assert ev.ledger[0].reasons[0]["period"] == "2025-W01"


LIFETIME = """\
effective: {from: 2023-01-01}
rules:
  - id: poultry
    name: 家禽散养
    when: 事项 == "家禽散养"
    escalation: {steps: [-8, -15, -20], per: 累计}
"""


def test_lifetime_escalation_across_years_never_resets(tmp_path):
    rs = load(tmp_path, LIFETIME)
    records = recs(rs, ("A", "H1", "2023-05-01", "家禽散养"), ("B", "H1", "2023-11-01", "家禽散养"),
                   ("C", "H1", "2024-02-01", "家禽散养"), ("D", "H1", "2024-03-01", "家禽散养"),
                   ("E", "H2", "2024-03-01", "家禽散养"), ("X", "H1", "2022-12-01", "家禽散养"))
    fast = run(rs, records, "2024-Q1", engine="fast")
    ev = run(rs, records, "2024-Q1")
    assert fast.ledger == ev.ledger and fast.results == ev.results
    # H1: 1st -8 and 2nd -15 in 2023 (not reported), 3rd -20 and 4th -20 in 2024; X is before
    # effective.from, so not counted. H2: its first, -8.
    assert awarded(ev) == [("C", "poultry", -20), ("D", "poultry", -20), ("E", "poultry", -8)]
    assert ev.ledger[0].step == {"per": "ever", "period": "ever", "n": 3}
    assert {r.household: r.total for r in ev.results} == {"H1": -40, "H2": -8}
    s = explain(rs, records, None, parse_period("2024-Q1"), "H1")
    assert "3月1日 家禽散养：按“家禽散养”（累计第 4 次）扣 20 分" in story_text(s).splitlines()


def test_explain_names_the_escalation_step_of_the_year(tmp_path):
    rs = load(tmp_path, LIFETIME.replace("累计", "年"))
    records = recs(rs, ("A", "H1", "2024-01-05", "家禽散养"), ("B", "H1", "2024-02-05", "家禽散养"))
    text = story_text(explain(rs, records, None, parse_period("2024-Q1"), "H1"))
    assert "2月5日 家禽散养：按“家禽散养”（本年第 2 次）扣 15 分" in text
    en = story_text(explain(rs, records, None, parse_period("2024-Q1"), "H1"), "en")
    assert "by rule '家禽散养' (2nd time this year) -15 points" in en


# -- counted_when ----------------------------------------------------------------------------

def test_a_pending_record_neither_scores_nor_uses_up_a_limit(tmp_path):
    one = DAILY.replace("[{times: 1, per: 天}, {times: 4, per: 月}, {max: 10, per: month}]",
                        "{times: 1, per: 天}")
    rs = load(tmp_path, 'counted_when: 状态 == "已审核"\n' + one)
    records = recs(rs, ("A", "H1", "2024-03-01", "分类检查", "2", "待审核"),
                   ("B", "H1", "2024-03-01", "分类检查", "3", "已审核"),
                   ("C", "H1", "2024-03-01", "打扫", None, "待审核"))
    for engine in ("reference", "fast"):
        ev = run(rs, records, "2024-03", engine=engine)
        # A would have used up the day's one record; it is pending, so B counts
        assert awarded(ev) == [("B", "sort", 3)]
        assert [i.record_id for i in ev.pending] == ["A", "C"]
        assert ev.unmatched == []  # C is pending, not unmatched
    data = to_json(ev)
    assert data["pending"][0] == {"record_id": "A", "household": "H1", "date": "2024-03-01",
                                  "activity": "分类检查", "reason": '不满足 counted_when：状态 == "已审核"',
                                  "file": "<rows>", "row": 1}
    assert "待审核的记录（不计分，也不计入任何限制）：2 条" in render_table(ev)
    text = story_text(explain(rs, records, None, parse_period("2024-03"), "H1"))
    assert ('3月1日 分类检查（记录 A）：待审核，暂不计分，也不计入任何限制'
            '（不满足 counted_when：状态 == "已审核"）') in text.splitlines()
    assert "另有 2 条记录待审核，暂不计分" in text


def test_a_pending_record_does_not_veto(tmp_path):
    rs = load(tmp_path, """\
        counted_when: 状态 == "已审核"
        rules:
          - {id: fish, when: 事项 == "禁渔", points: -20, veto: 年}
        """)
    records = recs(rs, ("A", "H1", "2024-02-01", "禁渔", None, "待审核"),
                   ("B", "H2", "2024-07-01", "禁渔", None, "待审核"),
                   ("C", "H3", "2024-07-01", "禁渔", None, "已审核"))
    for engine in ("reference", "fast"):
        ev = run(rs, records, "2024-Q1", households=["H1", "H2", "H3"], engine=engine)
        assert {r.household: r.vetoed for r in ev.results} == {"H1": False, "H2": False, "H3": True}


def test_counted_when_is_checked_like_any_condition(tmp_path):
    with pytest.raises(RulesetError) as info:
        load(tmp_path, 'counted_when: 状态 == "APPROVED"\nrules: [{id: a, when: 事项 == "a", points: 1}]\n')
    d = info.value.diagnostics[0]
    assert (d.code, d.line) == ("E-EXPR-VALUE", 9)
    # case-insensitive did-you-mean first
    with pytest.raises(RulesetError) as info:
        load(tmp_path, 'counted_when: 状态 == "APPROVED"\nrules: [{id: a, when: 事项 == "a", points: 1}]\n',
             head=HEAD.replace("[已审核, 待审核]", "[approved, pending]"))
    assert info.value.diagnostics[0].hint("zh") == "是不是：approved？"


# -- totals ------------------------------------------------------------------------------

def test_earned_deducted_base_and_total(tmp_path):
    rs = load(tmp_path, """\
        effective: {from: 2024-01-01, until: 2024-12-31}
        base: {points: 60, per: year}
        rules:
          - {id: plus, when: 事项 == "好", points: 3}
          - {id: minus, when: 事项 == "坏", points: -2}
        """)
    records = recs(rs, ("A", "H1", "2024-01-02", "好"), ("B", "H1", "2024-01-03", "坏"),
                   ("C", "H1", "2024-01-04", "好"))
    ev = run(rs, records, "2024-Q1", households=["H1", "H2"], engine="auto")
    h1, h2 = ev.results
    assert (h1.base, h1.earned, h1.deducted, h1.total) == (60, 6, -2, 64)
    assert (h2.base, h2.earned, h2.deducted, h2.total) == (60, 0, 0, 60)
    assert ev.engine.engine == "fast"
    assert to_json(ev)["households"][0]["earned"] == 6
    # a 2024 file gives no base points for 2023 or 2025
    for other in ("2023", "2025-Q1"):
        ev = run(rs, [], other, households=["H1"])
        assert (ev.results[0].base, ev.results[0].total) == (0, 0)


def test_a_rule_without_a_category_has_none(tmp_path):
    rs = load(tmp_path, """\
        categories: [{id: 文明}]
        rules:
          - {id: a, category: 文明, when: 事项 == "a", points: 1}
          - {id: b, when: 事项 == "b", points: 1.5}
        """)
    assert rs.rule("b").category is None
    for engine in ("reference", "fast"):
        ev = run(rs, recs(rs, ("A", "H1", "2024-03-01", "b")), "2024-03", engine=engine)
        assert ev.results[0].by_category == {}
        assert to_json(ev)["households"][0]["by_category"] == {}
    assert render_table(ev).splitlines()[2].split() == ["户号", "户主", "网格", "总分", "一票否决",
                                                        "得分", "扣分"]


# -- unit: person ----------------------------------------------------------------------------

PERSON = """\
unit: 人
base: {points: 10, per: year}
rules:
  - {id: a, when: 事项 == "a", points: 1}
"""


def test_person_base_for_every_register_household_and_a_blank_person_is_one_invalid_record(tmp_path):
    rs = load(tmp_path, PERSON)
    assert rs.unit == "person"
    csv = tmp_path / "r.csv"
    csv.write_text("记录编号,户号,日期,事项,成员\nA,H1,2024-03-01,a,张三\nB,H1,2024-03-02,a,\n",
                   encoding="utf-8")
    records = read_records_file(rs, str(csv))
    ev = run(rs, records, "2024", households=["H1", "H2"])
    rows = [(r.household, r.person, r.total) for r in ev.results]
    # 张三: base 10 + 1; H2 has no known member: base once on its household row
    assert rows == [("H1", "张三", 11), ("H2", None, 10)]
    assert [(i.record_id, i.diagnostic.code) for i in ev.invalid] == [("B", "E-EVAL-NO-PERSON")]
    missing = tmp_path / "m.csv"
    missing.write_text("记录编号,户号,日期,事项\nA,H1,2024-03-01,a\n", encoding="utf-8")
    with pytest.raises(Exception) as info:
        read_records_file(rs, str(missing))
    assert info.value.diagnostics[0].code == "E-TABLE-MISSING-COLUMN"


# -- words ---------------------------------------------------------------------------------

def test_chinese_enum_words_mean_the_english_ones(tmp_path):
    rs = load(tmp_path, """\
        unit: 户
        matching: 首条
        categories: [{id: c, limit: {max: 5, per: 季度}, deduction_limit: [{times: 2, per: 日}]}]
        rules:
          - {id: a, category: c, when: 事项 == "a", points: 1, once: 月, highest_only: 年, veto: 周}
          - {id: b, category: c, when: 事项 == "b", escalation: {steps: [1], per: 天}}
        checklists:
          - id: x
            name: 事项
            procedures:
              - steps: [申请, {name: 审核, within: {days: 3, after: 申请, calendar: 工作日}}]
        """)
    assert (rs.unit, rs.matching) == ("household", "first")
    a, b = rs.rules
    assert (a.once, a.highest_only, a.veto, b.escalation.per) == ("month", "year", "week", "day")
    c = rs.categories[0]
    assert (c.limit[0].per, c.deduction_limit[0].per, c.deduction_limit[0].times) == ("quarter", "day", 2)
    assert rs.checklists[0].procedures[0].steps[1].within.calendar == "working"


def test_a_limit_needs_max_or_times(tmp_path):
    with pytest.raises(RulesetError) as info:
        load(tmp_path, "rules: [{id: a, when: 事项 == \"a\", points: 1, limit: {max: 3, times: 1, per: 天}}]\n")
    assert info.value.diagnostics[0].code == "E-LIMIT-KIND"
    with pytest.raises(RulesetError) as info:
        load(tmp_path, "rules: [{id: a, when: 事项 == \"a\", points: 1, "
                       "limit: [{times: 1, per: 天}, {times: 2, per: day}]}]\n")
    assert info.value.diagnostics[0].code == "E-LIMIT-TWICE"


# -- named tables ----------------------------------------------------------------------------

TABLES = """\
tables:
  - id: restore
    name: 整改返还
    entries: {litter: 0.5, straw: 0.25}
  - id: grade_points
    keys: number
    entries: {1: 2, 2: 5}
    default: 0
rules:
  - {id: litter, when: 事项 == "litter", points: -8}
  - {id: fix, when: 事项 == "整改", points: '8 × 查表(整改返还, 备注)'}
  - {id: graded, when: 事项 == "评级", points: 'lookup(grade_points, 数量)'}
"""


def test_a_named_table_is_shared_and_checked(tmp_path):
    head = HEAD + "  - {id: note, label: 备注, type: text}\n"
    rs = load(tmp_path, TABLES, head=head)
    rows = [{"record_id": "A", "household": "H1", "date": "2024-03-01", "activity": "整改", "note": "litter"},
            {"record_id": "B", "household": "H1", "date": "2024-03-02", "activity": "整改", "note": "straw"},
            {"record_id": "C", "household": "H1", "date": "2024-03-03", "activity": "评级", "quantity": "2"},
            {"record_id": "D", "household": "H1", "date": "2024-03-04", "activity": "评级", "quantity": "7"},
            {"record_id": "E", "household": "H1", "date": "2024-03-05", "activity": "整改", "note": "fishing"}]
    for engine in ("reference", "fast"):
        ev = run(rs, typed_records(rs, rows), "2024-03", engine=engine)
        # 8 × 0.5, 8 × 0.25, key 2 → 5, key 7 → the default 0; "fishing" is not in the table
        assert awarded(ev) == [("A", "fix", 4), ("B", "fix", 2), ("C", "graded", 5),
                               ("D", "graded", 0)]
        assert [(i.record_id, i.diagnostic.code) for i in ev.invalid] == [("E", "E-EVAL-LOOKUP")]
        assert ev.engine.engine == engine
    for body, code in (
        (TABLES.replace("查表(整改返还, 备注)", "查表(整改反还, 备注)"), "E-EXPR-TABLE"),
        (TABLES.replace("查表(整改返还, 备注)", "查表(整改返还, 数量)"), "E-EXPR-TABLE-KEY"),
        (TABLES.replace("查表(整改返还, 备注)", '查表(整改返还, "fish")'), "E-EXPR-TABLE-NO-KEY"),
        (TABLES.replace("{1: 2, 2: 5}", "{1: 2, a: 5}"), "E-TABLE-KINDS"),
        (TABLES.replace("{1: 2, 2: 5}", "{1: 2, 2: 五}"), "E-TABLE-KINDS"),
    ):
        with pytest.raises(RulesetError) as info:
            load(tmp_path, body, head=head)
        assert info.value.diagnostics[0].code == code
    with pytest.raises(RulesetError) as info:
        load(tmp_path, TABLES.replace("查表(整改返还, 备注)", "查表(整改反还, 备注)"), head=head)
    d = info.value.diagnostics[0]
    assert d.hint("zh") == "是不是：整改返还？" and d.line == 20


# -- windows ---------------------------------------------------------------------------------

WINDOW = """\
rules:
  - {id: mixed, when: 事项 == "垃圾混装", points: -2}
  - id: clean
    when: 事项 == "分类检查" 且 近期次数(事项 == "垃圾混装", 30) == 0
    points: 2
"""


def test_a_window_ends_the_day_before_the_record(tmp_path):
    rs = load(tmp_path, WINDOW)
    # the window of a check on 2024-03-31 is 2024-03-01 .. 2024-03-30
    for mixed_on, counts in (("2024-03-01", False), ("2024-02-29", True), ("2024-03-30", False),
                             ("2024-03-31", True)):
        records = recs(rs, ("M", "H1", mixed_on, "垃圾混装"), ("S", "H1", "2024-03-31", "分类检查"),
                       ("O", "H2", "2024-03-15", "垃圾混装"))  # another household's: not counted
        ev = run(rs, records, "2024-03", engine="auto")
        assert (("S", "clean", 2) in awarded(ev)) is counts, mixed_on
        assert ev.engine.engine == "reference" and "近期次数" in ev.engine.reason
    # a record before the reported period (and before 1 January) is looked back on
    records = recs(rs, ("M", "H1", "2023-12-20", "垃圾混装"), ("S", "H1", "2024-01-10", "分类检查"))
    ev = run(rs, records, "2024-01")
    assert awarded(ev) == []  # 2023-12-20 is in the 30 days before 2024-01-10
    assert [i.record_id for i in ev.unmatched] == ["S"]  # the rule did not apply


def test_a_window_counts_points_too_and_is_checked(tmp_path):
    rs = load(tmp_path, """\
        rules:
          - {id: streak, when: 事项 == "值守", points: '1 + 近期次数(事项 == "值守", 7)'}
        """)
    records = recs(rs, *[(f"R{d}", "H1", f"2024-03-{d:02d}", "值守") for d in (1, 2, 3, 12)])
    ev = run(rs, records, "2024-03")
    # 1 + 0, 1 + 1, 1 + 2, then 12 March: the 7 days 5..11 March hold none → 1
    assert [a for _, _, a in awarded(ev)] == [1, 2, 3, 1]
    with pytest.raises(RulesetError) as info:
        load(tmp_path, 'rules: [{id: a, when: \'近期次数(事项 == "x", 数量) > 0\', points: 1}]\n')
    assert info.value.diagnostics[0].code == "E-EXPR-WINDOW"
    with pytest.raises(RulesetError) as info:
        load(tmp_path, 'counted_when: 近期次数(事项 == "x", 3) == 0\nrules: [{id: a, when: 事项 == "a", points: 1}]\n')
    assert info.value.diagnostics[0].code == "E-COUNTED-WHEN-WINDOW"


def test_diff_and_show_effective_see_tables_and_counted_when(tmp_path):
    from xiangyue.review.diff import canonical_text, diff_rulesets

    head = HEAD + "  - {id: note, label: 备注, type: text}\n"
    old = load(tmp_path, TABLES, head=head)
    new_path = tmp_path / "new.yaml"
    new_path.write_text(head + 'counted_when: 状态 == "已审核"\n' +
                        TABLES.replace("straw: 0.25", "straw: 0.5"), encoding="utf-8")
    new = load_ruleset(new_path)
    changes = {c.path: c for c in diff_rulesets(old, new).changes}
    assert changes["tables.restore.entries.straw"].zh == "表 restore：“straw”由 0.25 改为 0.5"
    assert "metadata.counted_when" in changes
    text = canonical_text(new)
    assert "tables:" in text and "counted_when:" in text


def test_the_real_rulebook_example_passes_with_full_coverage():
    from xiangyue.review.ruletest import render_text, run_tests

    path = str(Path(__file__).resolve().parent.parent / "rulesets" / "examples" / "shuangxi.yaml")
    report = run_tests([path])
    assert report.ok, render_text(report, "zh")
    assert len(report.results) == 9
    assert report.coverage[path].full


def test_a_value_outside_the_allowed_ones_names_the_closest(tmp_path):
    rs = load(tmp_path, "rules: [{id: a, when: 事项 == \"a\", points: 1}]\n",
              head=HEAD.replace("[已审核, 待审核]", "[approved, pending]"))
    csv = tmp_path / "r.csv"
    csv.write_text("record_id,household,date,activity,status\nA,H1,2024-03-01,a,APPROVED\n",
                   encoding="utf-8")
    ev = run(rs, read_records_file(rs, str(csv)), "2024-03")
    d = ev.invalid[0].diagnostic
    assert d.code == "E-EVAL-NOT-ALLOWED" and d.hint("en").startswith("did you mean: approved?")


def test_diff_words_count_limits_and_lists(tmp_path):
    from xiangyue.review.diff import diff_rulesets

    old = load(tmp_path, DAILY)
    p = tmp_path / "new.yaml"
    p.write_text(HEAD + textwrap.dedent(DAILY).replace(
        "[{times: 1, per: 天}, {times: 4, per: 月}, {max: 10, per: month}]", "{times: 2, per: 周}"),
        encoding="utf-8")
    change = next(c for c in diff_rulesets(old, load_ruleset(p)).changes if c.path == "rules.sort.limit")
    assert change.zh == "分类检查：上限由每天限 1 次，每月限 4 次，每月最多 10 分改为每周限 2 次"
    assert change.new == {"times": 2, "per": "week"}


def test_diff_reports_board_rules(tmp_path):
    from xiangyue.review.diff import canonical_text, diff_rulesets

    old = load(tmp_path, "rules: [{id: a, when: 事项 == \"a\", points: 1}]\n"
                         "boards: {red: {size: 10%, min: 3}, black: {below: 0}}\n")
    p = tmp_path / "new.yaml"
    p.write_text(HEAD + "rules: [{id: a, when: 事项 == \"a\", points: 1}]\n"
                 "boards: {red: {size: 20%, min: 3}, black: {below: 0}, progress: 3}\n", encoding="utf-8")
    new = load_ruleset(p)
    changes = {c.path: c for c in diff_rulesets(old, new).changes}
    assert changes["settings.boards.red" if "settings.boards.red" in changes else "boards.red"].new == {
        "size": "20%", "min": 3}
    assert "boards.progress" in changes or "settings.boards.progress" in changes
    assert "size: 20%" in canonical_text(new)


def test_once_a_day_and_four_a_month_under_both_engines(tmp_path):
    rs = load(tmp_path, DAILY.replace(", {max: 10, per: month}]", "]"))
    rows = [("A", "H1", "2024-03-01", "分类检查", "1"), ("B", "H1", "2024-03-01", "分类检查", "1")]
    rows += [(f"R{d}", "H1", f"2024-03-{d:02d}", "分类检查", "1") for d in range(2, 7)]
    for engine in ("reference", "fast"):
        ev = run(rs, recs(rs, *rows), "2024-03", engine=engine)
        assert ev.engine.engine == engine
        # A; B the 2nd that day; R2, R3, R4 make 4 in March; R5, R6 over the month's 4
        assert [a for _, _, a in awarded(ev)] == [1, 0, 1, 1, 1, 0, 0]
        assert [r[0]["per"] if r else None for r in (e.reasons for e in ev.ledger)] == [
            None, "day", None, None, None, "month", "month"]


def test_diff_of_a_rule_leaving_its_category(tmp_path):
    from xiangyue.review.diff import diff_rulesets

    old = load(tmp_path, "categories: [{id: 文明}]\nrules: [{id: a, category: 文明, when: 事项 == \"a\", points: 1}]\n")
    p = tmp_path / "new.yaml"
    p.write_text(HEAD + "categories: [{id: 文明}]\nrules: [{id: a, when: 事项 == \"a\", points: 1}]\n",
                 encoding="utf-8")
    [change] = diff_rulesets(old, load_ruleset(p)).changes
    assert change.zh == "a：类别由“文明”改为无（不属于任何类别）"
    assert (change.old, change.new) == ("文明", None)
