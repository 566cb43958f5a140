"""Compliance checking against the reference page (金钩村 checklists), worked by hand.

The ruleset here is built from model objects so the checker is pinned independently of the rule
file loader; the CLI tests run the same cases through the shipped rule file.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

import pytest

from xiangyue.checklists.check import Case, CaseStep, check_cases, group_cases
from xiangyue.errors import InputError
from xiangyue.rules.model import (
    Adoption,
    BoardSpec,
    ChecklistItem,
    Deadline,
    Market,
    Meeting,
    Procedure,
    Ruleset,
    Step,
)

D = dt.date
HALF_MEETING = Meeting(quorum=Fraction(2, 3), majority=Fraction(1, 2))


def _proc(pid: str, name: str, steps: list[Step], when=None) -> Procedure:
    return Procedure(id=pid, name=name, when_expr=None, when_fn=when, steps=tuple(steps))


def _plain(*names: str) -> list[Step]:
    return [Step(n) for n in names]


def jingou_checklists(payment_calendar: str = "calendar") -> tuple[ChecklistItem, ...]:
    four_two = _proc(
        "four_two",
        "四议两公开",
        [
            *_plain("提议", "商议", "审议"),
            Step("决议", meeting=HALF_MEETING),
            Step("决议公开", within=Deadline(7, "决议")),
            Step("实施"),
            Step("结果公开", within=Deadline(30, "实施")),
        ],
        when=lambda c: c["amount"] >= 50000,
    )
    simple = _proc(
        "simple",
        "一般程序",
        [Step("商议"), Step("公开", within=Deadline(7, "商议")), Step("实施")],
        when=lambda c: c["amount"] < 50000,
    )
    payment = _proc(
        "payment",
        "财务支出程序",
        [*_plain("经办", "监委会审核", "审批"),
         Step("财务公开", within=Deadline(30 if payment_calendar == "calendar" else 5, "审批",
                                          calendar=payment_calendar))],
    )
    allowance = _proc(
        "allowance",
        "低保申请程序",
        [
            *_plain("申请", "入户调查"),
            Step("民主评议", meeting=HALF_MEETING),
            Step("公示"),
            Step("上报", not_before=Deadline(7, "公示"), within=Deadline(30, "申请")),
        ],
    )
    certificate = _proc(
        "certificate", "证明开具程序", [Step("申请"), Step("出具", within=Deadline(1, "申请"))]
    )
    return (
        ChecklistItem("major_decision", "村级重大事项决策", "村级小微权力清单", (four_two, simple)),
        ChecklistItem("payment", "村级财务支出", "村级小微权力清单", (payment,)),
        ChecklistItem("allowance", "低保申请", "公共服务事项清单", (allowance,)),
        ChecklistItem("certificate", "证明开具", "公共服务事项清单", (certificate,)),
    )


def make_ruleset(checklists: tuple[ChecklistItem, ...] | None = None) -> Ruleset:
    return Ruleset(
        file="jingou.yaml", sha256="0" * 64, village="金钩村", name="金钩村积分制管理细则",
        version="2024.1", effective_from=None, effective_until=None, adopted=Adoption(),
        unit="household", matching="all", fields=(), household_fields=(), case_fields=(),
        categories=(), rules=(), base=None,
        checklists=checklists if checklists is not None else jingou_checklists(),
        boards=BoardSpec(), selections=(), stars=(), market=Market(), examples=(),
    )


RS = make_ruleset()


def rows(case_id: str, item: str, steps: list[tuple], amount: str | None = None) -> list[dict]:
    """Step rows: (step, date) or (step, date, attended, eligible, approved)."""
    out = []
    for s in steps:
        name, day, *counts = s
        row = {"case_id": case_id, "item": item, "title": "测试", "step": name,
               "date": dt.date.fromisoformat(day),
               "amount": Decimal(amount) if amount is not None else None}
        if counts:
            row.update(attended=counts[0], eligible=counts[1], approved=counts[2])
        out.append(row)
    return out


def four_two(case_id="C01", *, amount="80000", decision=("决议", "2024-06-01", 40, 60, 21),
             publish="2024-06-08", implement="2024-06-10", result="2024-07-10", drop=()):
    steps = [("提议", "2024-05-20"), ("商议", "2024-05-24"), ("审议", "2024-05-28"), decision,
             ("决议公开", publish), ("实施", implement), ("结果公开", result)]
    steps = [s for s in steps if s[0] not in drop and s[1] is not None]
    return rows(case_id, "major_decision", steps, amount)


def check(case_rows, as_of="2024-07-31", ruleset=RS):
    report = check_cases(ruleset, case_rows, D.fromisoformat(as_of))
    return report


def one(case_rows, as_of="2024-07-31", ruleset=RS):
    (result,) = check(case_rows, as_of, ruleset).cases
    return result


def kinds(result) -> list[tuple[str, str | None]]:
    return [(f.kind, f.step) for f in result.findings]


# --- a clean case --------------------------------------------------------------------------


def test_clean_four_two_case_is_compliant():
    r = one(four_two())
    assert r.status == "compliant"
    assert r.findings == ()
    assert (r.item, r.item_name, r.list) == ("major_decision", "村级重大事项决策", "村级小微权力清单")
    assert (r.procedure, r.procedure_name) == ("four_two", "四议两公开")


def test_item_by_chinese_name():
    r = one(rows("C1", "证明开具", [("申请", "2024-03-01"), ("出具", "2024-03-02")]))
    assert (r.item, r.status) == ("certificate", "compliant")


# --- within: the 7th day is on time, the 8th is late ----------------------------------------


def test_publication_on_the_7th_day_is_on_time():
    # 决议 2024-06-01 + 7 days = 2024-06-08
    assert one(four_two(publish="2024-06-08")).status == "compliant"


def test_publication_on_the_8th_day_is_late_by_one_day():
    r = one(four_two(publish="2024-06-09"))
    assert r.status == "violation"
    (f,) = r.findings
    assert (f.kind, f.step, f.date, f.anchor, f.anchor_date, f.deadline, f.days) == (
        "late", "决议公开", D(2024, 6, 9), "决议", D(2024, 6, 1), D(2024, 6, 8), 1)
    assert f.message() == "决议公开应在决议后7日内完成（最迟 2024-06-08），实际 2024-06-09 完成，晚了1日"
    assert f.message("en") == (
        "“决议公开” was due within 7 days after “决议” (by 2024-06-08) but was taken on "
        "2024-06-09, 1 day(s) late")


def test_certificate_within_one_day():
    ok = rows("C1", "certificate", [("申请", "2024-03-01"), ("出具", "2024-03-02")])
    late = rows("C2", "certificate", [("申请", "2024-03-01"), ("出具", "2024-03-03")])
    report = check(ok + late)
    assert [c.status for c in report.cases] == ["compliant", "violation"]
    assert kinds(report.cases[1]) == [("late", "出具")]


# --- overdue vs pending around the as-of date -----------------------------------------------


def test_missing_publication_is_pending_on_the_deadline_day():
    r = one(four_two(drop=("决议公开", "实施", "结果公开")), as_of="2024-06-08")
    assert (r.status, r.findings) == ("pending", ())


def test_missing_publication_is_overdue_the_day_after_the_deadline():
    r = one(four_two(drop=("决议公开", "实施", "结果公开")), as_of="2024-06-09")
    assert r.status == "violation"
    (f,) = r.findings
    assert (f.kind, f.step, f.deadline, f.days, f.date) == ("overdue", "决议公开", D(2024, 6, 8), 1, None)
    assert f.message() == "决议公开应在决议后7日内完成（最迟 2024-06-08），截至 2024-06-09 仍未完成，已逾期1日"


def test_result_publication_30_days_after_implementation():
    # 实施 2024-06-10 + 30 = 2024-07-10
    assert one(four_two(result=None, drop=("结果公开",)), as_of="2024-07-10").status == "pending"
    r = one(four_two(drop=("结果公开",)), as_of="2024-07-11")
    assert kinds(r) == [("overdue", "结果公开")]
    assert one(four_two(result="2024-07-10")).status == "compliant"
    assert kinds(one(four_two(result="2024-07-11"))) == [("late", "结果公开")]


def test_no_overdue_when_the_anchor_step_is_missing():
    # 上报 must come within 30 days of 申请; without 申请 there is nothing to count from,
    # and nothing later than 申请 is present, so the case is just pending.
    r = one(rows("A1", "allowance", [("入户调查", "2024-01-05")]), as_of="2024-12-31")
    assert kinds(r) == [("skipped", "申请")]  # 入户调查 present, 申请 missing: no overdue 上报
    r2 = one(four_two(drop=("决议", "决议公开", "实施", "结果公开")), as_of="2024-12-31")
    assert (r2.status, r2.findings) == ("pending", ())


# --- at least: the 7th day is the earliest --------------------------------------------------


def allowance(case_id="A1", *, report_day="2024-03-15", meeting=("民主评议", "2024-03-05", 9, 12, 7),
              notice="2024-03-08", apply="2024-03-01"):
    return rows(case_id, "allowance", [("申请", apply), ("入户调查", "2024-03-03"), meeting,
                                       ("公示", notice), ("上报", report_day)])


def test_report_on_the_7th_day_after_notice_is_allowed():
    # 公示 2024-03-08 + 7 = 2024-03-15
    assert one(allowance(report_day="2024-03-15")).status == "compliant"


def test_report_on_the_6th_day_after_notice_is_too_early():
    r = one(allowance(report_day="2024-03-14"))
    (f,) = r.findings
    assert (f.kind, f.step, f.deadline, f.days) == ("too_early", "上报", D(2024, 3, 15), 1)
    assert f.message() == "上报应在公示满7日后才能办理（最早 2024-03-15），实际 2024-03-14 就已办理，早了1日"


def test_report_can_be_both_too_early_and_late():
    # 申请 2024-01-01: 上报 due by 2024-01-31; 公示 2024-03-08: 上报 not before 2024-03-15.
    r = one(allowance(apply="2024-01-01", report_day="2024-03-10"))
    assert kinds(r) == [("late", "上报"), ("too_early", "上报")]
    assert [f.days for f in r.findings] == [39, 5]


# --- meetings: quorum and majority with exact fractions -------------------------------------


@pytest.mark.parametrize(
    ("attended", "eligible", "approved", "expected"),
    [
        (40, 60, 21, []),  # exactly two thirds attend; 21 of 40 is more than half
        (2, 3, 2, []),  # 2 of 3 is a quorum
        (39, 60, 39, [("quorum", "决议")]),  # just under two thirds
        (40, 60, 20, [("majority", "决议")]),  # exactly half is not a majority
        (39, 60, 19, [("quorum", "决议"), ("majority", "决议")]),
        (0, 60, 0, [("quorum", "决议"), ("majority", "决议")]),
    ],
)
def test_decision_meeting_quorum_and_majority(attended, eligible, approved, expected):
    r = one(four_two(decision=("决议", "2024-06-01", attended, eligible, approved)))
    assert kinds(r) == expected
    assert r.status == ("violation" if expected else "compliant")


def test_quorum_and_majority_messages():
    r = one(four_two(decision=("决议", "2024-06-01", 39, 60, 19)))
    assert [f.message() for f in r.findings] == [
        "决议应到60人，实到39人，不足三分之二，不够开会人数",
        "决议到会39人，赞成19人，没有超过到会人数的一半",
    ]
    assert r.findings[0].message("en") == "“决议”: 39 of 60 eligible attended, fewer than two thirds"
    assert (r.findings[0].attended, r.findings[0].eligible, r.findings[0].approved) == (39, 60, 19)


def test_meeting_without_counts_cannot_show_its_quorum():
    r = one(four_two(decision=("决议", "2024-06-01")))
    assert kinds(r) == [("quorum", "决议"), ("majority", "决议")]
    assert r.findings[0].message() == "决议是会议，但没有记录到会人数、应到人数，无法确认到会人数达到应到人数的三分之二"


def test_allowance_review_meeting_has_the_same_rule():
    r = one(allowance(meeting=("民主评议", "2024-03-05", 8, 12, 4)))
    assert kinds(r) == [("majority", "民主评议")]  # 8/12 = 2/3 attends; 4 of 8 is half


# --- procedure choice at the threshold ------------------------------------------------------


def test_amount_50000_takes_four_two():
    r = one(four_two(amount="50000"))
    assert (r.procedure, r.status) == ("four_two", "compliant")


def test_amount_49999_99_takes_the_simple_procedure():
    r = one(rows("C9", "major_decision",
                 [("商议", "2024-04-01"), ("公开", "2024-04-08"), ("实施", "2024-04-20")], "49999.99"))
    assert (r.procedure, r.procedure_name, r.status) == ("simple", "一般程序", "compliant")


def test_simple_steps_under_four_two_are_unknown_and_skips():
    # 50000 needs 四议两公开: a case run with the simple procedure's steps is caught.
    r = one(rows("C9", "major_decision",
                 [("商议", "2024-04-01"), ("公开", "2024-04-08"), ("实施", "2024-04-20")], "50000"))
    assert r.procedure == "four_two"
    assert kinds(r) == [("skipped", "提议"), ("skipped", "审议"), ("skipped", "决议"),
                        ("skipped", "决议公开"), ("overdue", "结果公开"), ("unknown_step", "公开")]


def test_empty_amount_gives_no_procedure():
    r = one(four_two(amount=None))
    assert (r.status, r.procedure) == ("violation", None)
    assert kinds(r) == [("no_procedure", None)]
    assert r.findings[0].message() == "没有填写金额，无法确定“村级重大事项决策”应走哪个程序（四议两公开、一般程序）"


def test_items_with_an_unconditional_procedure_need_no_amount():
    r = one(rows("P1", "payment", [("经办", "2024-02-01"), ("监委会审核", "2024-02-02"),
                                   ("审批", "2024-02-03"), ("财务公开", "2024-03-04")]))
    assert (r.procedure, r.status) == ("payment", "compliant")  # 02-03 + 30 = 03-04


# --- skipped, out of order, unknown ---------------------------------------------------------


def test_skipped_step():
    r = one(four_two(drop=("审议",)))
    (f,) = r.findings
    assert (f.kind, f.step, f.anchor, f.anchor_date) == ("skipped", "审议", "决议", D(2024, 6, 1))
    assert f.message() == "缺少“审议”：后面的“决议”已在 2024-06-01 办理，却没有“审议”的记录"


def test_missing_last_step_is_not_skipped_but_pending():
    r = one(rows("C1", "certificate", [("申请", "2024-07-30")]), as_of="2024-07-31")
    assert (r.status, r.findings) == ("pending", ())


def test_out_of_order_names_the_latest_earlier_step():
    r = one(four_two(implement="2024-05-30", result="2024-06-15"))
    # 实施 2024-05-30 comes before 决议 (06-01) and 决议公开 (06-08): compared with 决议公开.
    assert kinds(r) == [("out_of_order", "实施")]
    f = r.findings[0]
    assert (f.anchor, f.anchor_date) == ("决议公开", D(2024, 6, 8))


def test_same_day_is_in_order():
    assert one(four_two(publish="2024-06-01", implement="2024-06-01", result="2024-07-01")).status == "compliant"


def test_unknown_item():
    r = one(rows("X1", "修路", [("申请", "2024-01-01")]))
    assert (r.status, r.item, r.item_name, r.procedure) == ("violation", "修路", None, None)
    assert kinds(r) == [("unknown_item", None)]
    assert r.findings[0].message() == "清单中没有“修路”这个事项"


def test_unknown_step():
    r = one(rows("C1", "certificate", [("申请", "2024-03-01"), ("盖章", "2024-03-01"),
                                       ("出具", "2024-03-02")]))
    assert kinds(r) == [("unknown_step", "盖章")]
    assert r.findings[0].message() == "“证明开具程序”没有“盖章”这一步（2024-03-01）"


# --- working days across the 2024 National Day holiday --------------------------------------

WORKING = make_ruleset(jingou_checklists(payment_calendar="working"))


def payment(case_id, approve, publish):
    steps = [("经办", "2024-09-20"), ("监委会审核", "2024-09-23"), ("审批", approve)]
    if publish:
        steps.append(("财务公开", publish))
    return rows(case_id, "payment", steps)


def test_working_days_across_national_day():
    # 审批 Fri 2024-09-27; working days after it: Sun 09-29 (调休), Mon 09-30, then the holiday
    # 10-01..10-07, Tue 10-08, Wed 10-09, Thu 10-10 -> the 5th working day is 2024-10-10.
    assert one(payment("P1", "2024-09-27", "2024-10-10"), ruleset=WORKING).status == "compliant"
    r = one(payment("P1", "2024-09-27", "2024-10-11"), ruleset=WORKING)
    (f,) = r.findings
    assert (f.kind, f.deadline, f.days, f.calendar) == ("late", D(2024, 10, 10), 1, "working")
    assert f.message().startswith("财务公开应在审批后5个工作日内完成（最迟 2024-10-10）")


def test_working_days_count_the_adjusted_saturday():
    # 审批 Tue 2024-10-08: 10-09, 10-10, 10-11, Sat 10-12 (调休上班), Mon 10-14 -> 5th is 10-14;
    # without the adjusted Saturday it would be 10-15.
    assert one(payment("P2", "2024-10-08", None), as_of="2024-10-14", ruleset=WORKING).status == "pending"
    r = one(payment("P2", "2024-10-08", None), as_of="2024-10-15", ruleset=WORKING)
    assert [(f.kind, f.deadline, f.days) for f in r.findings] == [("overdue", D(2024, 10, 14), 1)]


def test_working_days_outside_the_calendar_are_an_input_error():
    with pytest.raises(InputError) as err:
        check(payment("P3", "2099-03-01", "2099-03-02"), ruleset=WORKING)
    (d,) = err.value.diagnostics
    assert d.code == "E-WORKDAY-RANGE"
    assert "2099" in d.message() and "P3" in d.hint()


# --- grouping rows --------------------------------------------------------------------------


def test_rows_of_a_case_that_disagree_are_input_errors():
    bad = four_two()
    bad[3]["amount"] = Decimal("90000")
    bad[5]["item"] = "payment"
    with pytest.raises(InputError) as err:
        check(bad)
    assert [(d.code, d.line, d.column) for d in err.value.diagnostics] == [
        ("E-CASE-DISAGREE", 5, "金额"),
        ("E-CASE-DISAGREE", 7, "清单事项"),
    ]
    assert err.value.diagnostics[0].message() == (
        "事项 C01 的金额前后不一致：第 2 行是“80000”，这一行是“90000”")


def test_item_by_id_and_by_name_agree_and_titles_may_differ():
    mixed = four_two()
    mixed[2]["item"] = "村级重大事项决策"
    mixed[3]["title"] = "另一个标题"
    r = one(mixed)
    assert (r.status, r.item, r.title) == ("compliant", "major_decision", "测试")


def test_empty_cells_take_the_value_of_the_other_rows():
    good = four_two()
    for row in good[1:]:
        row["amount"] = None
        row["title"] = ""
    assert one(good).status == "compliant"


def test_a_step_recorded_twice_is_an_input_error():
    with pytest.raises(InputError) as err:
        check(four_two() + rows("C01", "major_decision", [("决议", "2024-06-02", 50, 60, 40)], "80000"))
    (d,) = err.value.diagnostics
    assert (d.code, d.line, d.column) == ("E-CASE-STEP-TWICE", 9, "步骤")


@pytest.mark.parametrize(
    ("counts", "column"),
    [((61, 60, 40), "到会人数"), ((40, 60, 41), "赞成人数"), ((0, 0, 0), "应到人数"),
     ((-1, 60, 0), "到会人数")],
)
def test_impossible_meeting_counts_are_input_errors(counts, column):
    with pytest.raises(InputError) as err:
        check(four_two(decision=("决议", "2024-06-01", *counts)))
    assert [(d.code, d.column) for d in err.value.diagnostics] == [("E-CASE-COUNTS", column)]


def test_missing_case_id_step_and_date():
    bad = [{"case_id": "", "item": "certificate", "step": "申请", "date": D(2024, 1, 1)},
           {"case_id": "C1", "item": "certificate", "step": None, "date": None}]
    with pytest.raises(InputError) as err:
        check(bad)
    assert [(d.code, d.line, d.column) for d in err.value.diagnostics] == [
        ("E-CASE-MISSING", 2, "事项编号"), ("E-CASE-MISSING", 3, "步骤"), ("E-CASE-MISSING", 3, "日期")]


def test_group_cases_keeps_positions_from_row_objects():
    class Row:
        def __init__(self, line, values):
            self.line, self.values, self.columns = line, values, {"step": "步骤"}

    cases = group_cases([Row(7, r) for r in rows("C1", "certificate", [("申请", "2024-03-01")])],
                        file="cases.csv")
    assert cases[0].steps[0].pos.line == 7 and cases[0].pos.file == "cases.csv"


# --- report ---------------------------------------------------------------------------------


def test_cases_sorted_by_id_naturally_and_summed():
    data = (rows("C10", "certificate", [("申请", "2024-03-01"), ("出具", "2024-03-05")])
            + rows("C2", "certificate", [("申请", "2024-07-31")])
            + four_two("C1") + rows("X", "修路", [("申请", "2024-01-01")]))
    report = check(data)
    assert [c.case_id for c in report.cases] == ["C1", "C2", "C10", "X"]
    assert [c.status for c in report.cases] == ["compliant", "pending", "violation", "violation"]
    s = report.summary()
    assert s["by_status"] == {"violation": 2, "pending": 1, "compliant": 1}
    assert s["by_item"]["certificate"] == {"name": "证明开具", "list": "公共服务事项清单", "total": 2,
                                           "violation": 1, "pending": 1, "compliant": 0}
    assert s["by_item"]["修路"]["violation"] == 1
    assert s["by_list"]["村级小微权力清单"] == {"total": 1, "violation": 0, "pending": 0, "compliant": 1}
    assert s["by_kind"] == {"late": 1, "unknown_item": 1}
    # the case of an unknown item is counted too, so the lists add up to every case
    assert s["by_list"]["unlisted"] == {"total": 1, "violation": 1, "pending": 0, "compliant": 0}
    assert sum(e["total"] for e in s["by_list"].values()) == len(report.cases)
    assert report.has_violations


def test_to_json_shape():
    out = check(four_two(publish="2024-06-09"), as_of="2024-06-29").to_json()
    assert out["as_of"] == "2024-06-29"
    case = out["cases"][0]
    assert {k: case[k] for k in ("case_id", "item", "procedure", "status")} == {
        "case_id": "C01", "item": "major_decision", "procedure": "four_two", "status": "violation"}
    assert case["findings"][0]["kind"] == "late" and case["findings"][0]["step"] == "决议公开"
    assert case["findings"][0]["deadline"] == "2024-06-08"
    json.dumps(out, default=str)  # plain data


def test_grouped_case_objects_are_accepted():
    case = Case("C1", "certificate", None, None,
                (CaseStep("申请", D(2024, 3, 1)), CaseStep("出具", D(2024, 3, 2))))
    assert check([case]).cases[0].status == "compliant"


# --- renderers ------------------------------------------------------------------------------

from xiangyue.report.compliance import display_width, render  # noqa: E402


def sample_report():
    data = (four_two("C01", publish="2024-06-09")
            + rows("C10", "certificate", [("申请", "2024-06-28")])
            + rows("X<1>", "修<路>", [("申请", "2024-01-01")]))
    return check(data, as_of="2024-06-29")


def test_json_has_the_documented_shape_with_exact_amounts():
    report = check(four_two("C01", publish="2024-06-09", amount="80000.50"), as_of="2024-06-29")
    out = json.loads(render(report, "json"), parse_float=Decimal)
    assert out["as_of"] == "2024-06-29"
    (case,) = out["cases"]
    assert case["amount"] == Decimal("80000.50")
    assert (case["case_id"], case["item"], case["procedure"], case["status"]) == (
        "C01", "major_decision", "four_two", "violation")
    (f,) = case["findings"]
    assert (f["kind"], f["step"]) == ("late", "决议公开")
    assert f["message"] == "决议公开应在决议后7日内完成（最迟 2024-06-08），实际 2024-06-09 完成，晚了1日"
    assert out["summary"]["by_status"] == {"violation": 1, "pending": 0, "compliant": 0}
    assert out["summary"]["by_item"]["major_decision"]["violation"] == 1
    en = json.loads(render(report, "json", "en"))
    assert en["cases"][0]["findings"][0]["message"].startswith("“决议公开” was due within 7 days")


def test_table_columns_line_up_on_screen():
    text = render(sample_report(), "table")
    lines = text.splitlines()
    assert lines[0] == "金钩村 清单合规检查（截至 2024-06-29）"
    by_list = lines.index("汇总") + 1
    assert lines[by_list + 2].split() == ["村级小微权力清单", "1", "1", "0", "0"]
    assert lines[by_list + 3].split() == ["公共服务事项清单", "1", "0", "1", "0"]
    header = next(i for i, line in enumerate(lines) if line.startswith("清单") and "事项" in line)
    summary = lines[header: header + 8]  # header, rule, 4 items, 1 unknown item, total
    assert summary[-1].startswith("合计")
    # numbers are right-aligned, so every row ends at the same screen column
    assert {display_width(line) for line in summary} == {display_width(summary[0])}
    assert display_width(summary[0]) != len(summary[0])  # wide characters were counted
    assert "[违规] C01  村级重大事项决策  四议两公开  测试  80000元" in lines
    assert ("    - 逾期办理：决议公开应在决议后7日内完成（最迟 2024-06-08），实际 2024-06-09 完成，"
            "晚了1日") in lines
    assert "[进行中] C10  证明开具  证明开具程序  测试" in lines
    assert "[violation] C01" in render(sample_report(), "table", "en")


def test_csv_has_a_row_per_finding_and_per_clean_case():
    import csv
    import io

    got = list(csv.reader(io.StringIO(render(sample_report(), "csv", "en"))))
    assert got[0][:3] == ["case_id", "item", "item_name"]
    assert [(r[0], r[8], r[9], r[10]) for r in got[1:]] == [
        ("C01", "violation", "late", "决议公开"),
        ("C10", "pending", "", ""),
        ("X<1>", "violation", "unknown_item", ""),
    ]
    assert got[1][12] == "2024-06-08"
    zh = list(csv.reader(io.StringIO(render(sample_report(), "csv"))))
    assert zh[0][0] == "事项编号" and zh[1][8] == "违规"


def test_html_is_self_contained_printable_and_escaped():
    page = render(sample_report(), "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>金钩村 清单合规检查（截至 2024-06-29）</title>" in page
    assert "@page { size: A4" in page
    assert "X&lt;1&gt;" in page and "修&lt;路&gt;" in page
    assert "<1>" not in page and "<路>" not in page
    assert "src=" not in page and "href=" not in page  # nothing fetched from elsewhere
    assert '<span class="status violation">违规</span>' in page
    assert "实际 2024-06-09 完成，晚了1日" in page


def test_empty_report_renders():
    report = check([], as_of="2024-06-29")
    assert "没有事项记录。" in render(report, "table")
    assert json.loads(render(report, "json"))["cases"] == []
    assert "No cases." in render(report, "html", "en")


# --- case files checked directly (no import) ------------------------------------------------

from pathlib import Path  # noqa: E402

from xiangyue.checklists.check import check_case_file  # noqa: E402

CASES = Path(__file__).parent / "cases" / "checklists"

# jingou_cases.csv as of 2024-06-29, worked by hand:
JINGOU_EXPECTED = {
    "C01": ("compliant", []),  # 40 of 60 attend (exactly 2/3), 30 of 40 approve
    "C02": ("violation", [("late", "决议公开"),  # 决议 05-15 + 7 = 05-22, published 05-23
                          ("overdue", "结果公开")]),  # 实施 05-25 + 30 = 06-24 < 06-29
    "C03": ("compliant", []),  # 49999.99: 一般程序
    "C04": ("violation", [("skipped", "监委会审核")]),
    "C05": ("violation", [("majority", "民主评议"),  # 4 of 8 is exactly half
                          ("too_early", "上报")]),  # 公示 06-06 + 7 = 06-13, reported 06-12
    "C06": ("pending", []),  # 出具 due 06-29 = the as-of date
    "C07": ("violation", [("unknown_item", None)]),
    "C08": ("violation", [("unknown_step", "盖章")]),
    "C09": ("violation", [("no_procedure", None)]),  # amount empty
}


def test_reference_case_file_checked_directly():
    report = check_case_file(RS, str(CASES / "jingou_cases.csv"), D(2024, 6, 29))
    got = {c.case_id: (c.status, kinds(c)) for c in report.cases}
    assert got == JINGOU_EXPECTED
    assert [c.case_id for c in report.cases] == sorted(JINGOU_EXPECTED)
    assert report.cases[2].item == "major_decision"  # named 村级重大事项决策 in the file
    assert report.summary()["by_status"] == {"violation": 6, "pending": 1, "compliant": 2}


def test_case_file_problems_are_reported_together_with_their_rows():
    with pytest.raises(InputError) as err:
        check_case_file(RS, str(CASES / "disagree_cases.csv"), D(2024, 6, 29))
    got = [(d.code, d.line, d.column) for d in err.value.diagnostics]
    assert got == [
        ("E-CASE-DISAGREE", 3, "金额"),
        ("E-CASE-STEP-TWICE", 4, "步骤"),
        ("E-TABLE-DATE-DAY", 5, "日期"),
    ]
    assert all(d.file.endswith("disagree_cases.csv") for d in err.value.diagnostics)


def test_case_file_with_english_headers(tmp_path):
    report = check_case_file(RS, str(CASES / "clean_cases.csv"), D(2024, 6, 29))
    assert [(c.case_id, c.status) for c in report.cases] == [("C01", "compliant"), ("C06", "pending")]
    with pytest.raises(InputError) as err:
        check_case_file(RS, str(tmp_path / "none.csv"), D(2024, 6, 29))
    assert err.value.diagnostics[0].code == "E-TABLE-FILE-MISSING"
