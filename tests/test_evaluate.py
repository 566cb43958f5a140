"""The points engine against the reference page (jingou.md, "What the limits mean").

Every expected number is worked by hand in the comment beside it.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "evaluate"))  # rule builders for tests

from jingou_rules import jingou  # noqa: E402
from rule_builders import D, cap, esc, rec, rule, ruleset  # noqa: E402
from xiangyue.points.evaluate import evaluate as _door
from xiangyue.points.inputs import read_households_file, read_records_file
from xiangyue.rules.model import BasePoints, Category
from xiangyue.periods import parse_period
from xiangyue.report.jsonout import dumps, loads
from xiangyue.rules.pipeline import load_ruleset


def evaluate(rs, records, households, period, *, with_ledger=True, presorted=False):
    """The reference evaluator through the one evaluation door."""
    from xiangyue.points.inputs import Inputs

    return _door(rs, Inputs(records, households, presorted), period, engine="reference",
                 with_ledger=with_ledger)


REGISTER = [{"household": "JG001", "head": "张大山", "grid": "第1网格"},
            {"household": "JG002", "head": "李秀英", "grid": "第1网格"},
            {"household": "JG003", "head": "王建国", "grid": "第2网格"}]


def run(records, period="2024-03", rs=None, households=REGISTER, **kw):
    return evaluate(rs or jingou(), records, households, parse_period(period), **kw)


def total(ev, household="JG001"):
    return ev.result(household).total


def entries(ev, rule_id=None):
    return [e for e in ev.ledger if rule_id is None or e.rule == rule_id]


# -- rule caps --------------------------------------------------------------------------------

def test_cap_reached_exactly_then_full():
    ev = run([
        rec("R1", "JG001", "2024-03-02", "志愿服务", 3),  # 6
        rec("R2", "JG001", "2024-03-09", "志愿服务", 2),  # 4 -> exactly 10, not capped
        rec("R3", "JG001", "2024-03-16", "志愿服务", 1),  # 2 -> nothing left
    ])
    r1, r2, r3 = entries(ev, "volunteer")
    assert (r1.awarded, r2.awarded, r3.awarded) == (6, 4, 0)
    assert r2.reasons == ()
    assert r3.reasons == ({"limit": "cap", "per": "month", "period": "2024-03", "max": 10,
                           "used": 10, "left": 0},)
    assert total(ev) == 10


def test_cap_crossed_by_half_a_point():
    ev = run([
        rec("R1", "JG001", "2024-03-02", "垃圾分类", 9),  # 0.5 × 9 = 4.5
        rec("R2", "JG001", "2024-03-03", "垃圾分类", 2),  # 1, but only 0.5 left of 5
    ])
    r1, r2 = entries(ev, "sorting")
    assert r1.awarded == D("4.5")
    assert (r2.raw, r2.awarded) == (1, D("0.5"))
    assert r2.reasons[0]["limit"] == "cap"
    assert (r2.reasons[0]["used"], r2.reasons[0]["left"]) == (D("4.5"), D("0.5"))
    assert total(ev) == 5


def test_cap_counts_in_its_own_month():
    # 10 in February (full), 10 again in March: a new month, a new limit.
    ev = run([rec("R1", "JG001", "2024-02-10", "志愿服务", 5),
              rec("R2", "JG001", "2024-03-10", "志愿服务", 3)], period="2024-Q1")
    assert ev.result("JG001").by_rule["volunteer"] == 10 + 6


def test_deduction_cap():
    ev = run([rec(f"R{i}", "JG001", f"2024-03-0{i}", "乱扔垃圾") for i in range(1, 6)])
    awarded = [e.awarded for e in entries(ev, "litter")]
    assert awarded == [-5, -5, -5, -5, 0]  # at most 20 deducted per month
    assert entries(ev, "litter")[-1].reasons[0] == {
        "limit": "deduction_cap", "per": "month", "period": "2024-03", "max": 20, "used": 20,
        "left": 0}
    assert total(ev) == -20


def test_deduction_cap_crossed():
    rs = ruleset(rule("fine", "罚", -3, deduction_limit=(cap(10),)))
    ev = run([rec(f"R{i}", "JG001", "2024-03-01", "罚") for i in range(1, 5)], rs=rs)
    assert [e.awarded for e in ev.ledger] == [-3, -3, -3, -1]  # 9 taken, only 1 left
    assert total(ev) == -10


# -- category caps ----------------------------------------------------------------------------

def test_category_cap_binds_after_rule_cap():
    # meeting 3 (its own cap), then volunteer 6h: 12 -> rule cap 10 -> 乡风文明 has 9 left;
    # volunteer_long 2 -> category full, 0. 3 + 9 + 0 = 12.
    ev = run([rec(f"M{i}", "JG001", f"2024-03-0{i}", "参加坝坝会") for i in range(1, 5)]
             + [rec("V1", "JG001", "2024-03-10", "志愿服务", 6)])
    res = ev.result("JG001")
    assert res.by_rule == {"volunteer": 9, "volunteer_long": 0, "meeting": 3}
    assert res.by_category == {"乡风文明": 12}
    assert total(ev) == 12
    meeting4 = entries(ev, "meeting")[3]
    assert meeting4.awarded == 0 and meeting4.reasons[0]["limit"] == "cap"
    vol = entries(ev, "volunteer")[0]
    assert vol.raw == 12 and vol.awarded == 9
    assert [r["limit"] for r in vol.reasons] == ["cap", "category_cap"]
    assert vol.reasons[1] == {"limit": "category_cap", "per": "month", "period": "2024-03",
                              "max": 12, "used": 3, "left": 9}
    long = entries(ev, "volunteer_long")[0]
    assert long.awarded == 0 and long.reasons[0]["left"] == 0


def test_category_cap_volunteer_first():
    # volunteer 5h: 10 + volunteer_long 2 = 12; then 3 meetings: the category is full.
    ev = run([rec("V1", "JG001", "2024-03-01", "志愿服务", 5)]
             + [rec(f"M{i}", "JG001", f"2024-03-1{i}", "参加坝坝会") for i in range(1, 4)])
    assert ev.result("JG001").by_rule == {"volunteer": 10, "volunteer_long": 2, "meeting": 0}
    assert total(ev) == 12


def test_category_deduction_cap():
    rs = ruleset(rule("a", "甲", -4), rule("b", "乙", -4),
                 categories=(Category("c", "c", deduction_limit=(cap(6),)),))
    ev = run([rec("R1", "JG001", "2024-03-01", "甲"), rec("R2", "JG001", "2024-03-02", "乙")],
             rs=rs)
    assert [e.awarded for e in ev.ledger] == [-4, -2]
    assert ev.ledger[1].reasons[0]["limit"] == "category_deduction_cap"


# -- once per period --------------------------------------------------------------------------

def test_once_per_quarter_across_the_quarter_boundary():
    ev = run([rec("F1", "JG001", "2024-03-01", "孝老爱亲"),
              rec("F2", "JG001", "2024-03-31", "孝老爱亲"),  # same quarter: 0
              rec("F3", "JG001", "2024-04-01", "孝老爱亲")],  # next quarter: counts
             period="2024")
    assert [e.awarded for e in entries(ev, "filial")] == [5, 0, 5]
    assert entries(ev, "filial")[1].reasons == (
        {"limit": "once", "per": "quarter", "period": "2024-Q1", "first": "F1",
         "first_date": "2024-03-01"},)
    assert total(ev) == 10


def test_once_mar31_and_apr1_both_count():
    ev = run([rec("F1", "JG001", "2024-03-31", "孝老爱亲"),
              rec("F2", "JG001", "2024-04-01", "孝老爱亲")], period="2024")
    assert [e.awarded for e in ev.ledger] == [5, 5]


def test_same_day_records_ordered_by_record_id_as_text():
    # "R10" < "R9" as text, so R10 (差, -3) is the month's first courtyard check.
    records = [rec("R9", "JG001", "2024-03-05", "庭院检查", grade="优"),
               rec("R10", "JG001", "2024-03-05", "庭院检查", grade="差")]
    ev = run(records)
    assert [(e.record_id, e.awarded) for e in ev.ledger] == [("R10", -3), ("R9", 0)]
    assert total(ev) == -3
    assert total(run(list(reversed(records)))) == -3


def test_once_per_year_seen_from_a_later_month():
    ev = run([rec("W1", "JG001", "2024-01-20", "红白喜事简办"),
              rec("W2", "JG001", "2024-03-20", "红白喜事简办")])
    (w2,) = ev.ledger  # only March is reported
    assert w2.awarded == 0 and w2.reasons[0]["first"] == "W1"
    assert total(ev) == 0


# -- escalation, tiers ------------------------------------------------------------------------

def test_escalation_steps_and_last_step_repeats():
    rs = ruleset(rule("repeat", "屡犯", None, escalation=esc(-2, -5, -10, per="year")))
    ev = run([rec(f"R{i}", "JG001", f"2024-0{i}-01", "屡犯") for i in range(1, 5)]
             + [rec("R5", "JG002", "2024-04-01", "屡犯")], rs=rs, period="2024")
    assert [e.raw for e in ev.ledger if e.household == "JG001"] == [-2, -5, -10, -10]
    assert total(ev, "JG001") == -27
    assert total(ev, "JG002") == -2  # counted per household


def test_escalation_counts_before_the_reported_month():
    rs = ruleset(rule("repeat", "屡犯", None, escalation=esc(1, 2, 3, per="quarter")))
    ev = run([rec("R1", "JG001", "2024-01-05", "屡犯"), rec("R2", "JG001", "2024-02-05", "屡犯"),
              rec("R3", "JG001", "2024-03-05", "屡犯")], rs=rs, period="2024-03")
    assert [e.raw for e in ev.ledger] == [3]


def test_highest_only_tiers():
    rs = ruleset(rule("honour", "获得表彰",
                      lambda r: D({"县级": 10, "市级": 15, "省级": 20}[r["level"]]),
                      highest_only="year"))
    ev = run([rec("H1", "JG001", "2024-02-01", "获得表彰", level="县级"),
              rec("H2", "JG001", "2024-05-01", "获得表彰", level="省级"),
              rec("H3", "JG001", "2024-06-01", "获得表彰", level="市级")], rs=rs, period="2024")
    assert [e.awarded for e in ev.ledger] == [10, 10, 0]
    assert ev.ledger[1].reasons == ({"limit": "highest_only", "per": "year", "period": "2024",
                                     "highest": 10},)
    assert total(ev) == 20


# -- veto ------------------------------------------------------------------------------------

def test_veto_for_the_year():
    records = [rec("X1", "JG001", "2024-02-10", "违反禁渔"),
               rec("V1", "JG001", "2024-05-01", "志愿服务", 2)]
    q1 = run(records, period="2024-Q1")
    assert q1.result("JG001").vetoed and total(q1) == -20
    assert q1.result("JG001").vetoes[0]["period"] == "2024"
    q2 = run(records, period="2024-Q2")  # no offence in Q2, but vetoed for the whole year
    assert q2.result("JG001").vetoed and total(q2) == 4
    assert not q2.result("JG002").vetoed
    # vetoed for the whole year: a January report made later knows of the February offence
    assert run(records, period="2024-01").result("JG001").vetoed
    assert not run(records, period="2025-01").result("JG001").vetoed


# -- decimals, coverage, unmatched, invalid ----------------------------------------------------

def test_decimals_are_exact():
    ev = run([rec("S1", "JG001", "2024-03-01", "垃圾分类", 3)])  # 0.5 × 3
    assert total(ev) == Decimal("1.5")
    out = loads(dumps({"t": total(ev)}))
    assert out["t"] == Decimal("1.5") and str(out["t"]) == "1.5"
    ev = run([rec(f"S{i}", "JG001", "2024-03-01", "垃圾分类", "0.2") for i in range(3)])
    assert total(ev) == Decimal("0.3")  # 0.1 × 3, not 0.30000000000000004


def test_effective_dates():
    rs = jingou(effective=(dt.date(2024, 2, 1), dt.date(2024, 12, 31)))
    ev = run([rec("A1", "JG001", "2024-01-31", "志愿服务", 1),
              rec("A2", "JG001", "2024-02-01", "志愿服务", 1)], rs=rs, period="2024-Q1")
    assert [i.record_id for i in ev.not_covered] == ["A1"]
    assert total(ev) == 2


def test_unmatched_records_are_listed():
    ev = run([rec("T1", "JG002", "2024-03-04", "志原服务", 2, _file="r.csv", _row=7)])
    (u,) = ev.unmatched
    assert (u.record_id, u.activity, u.file, u.row) == ("T1", "志原服务", "r.csv", 7)
    assert total(ev, "JG002") == 0 and ev.ledger == []


def test_invalid_grade_is_listed_and_the_whole_record_awards_nothing():
    rs = ruleset(rule("any_check", "庭院检查", 1, line=1),
                 *[r for r in jingou().rules if r.id == "courtyard"])
    ev = run([rec("C1", "JG001", "2024-03-02", "庭院检查", grade="特优", _file="r.csv", _row=3),
              rec("C2", "JG001", "2024-03-20", "庭院检查", grade="优")], rs=rs)
    (bad,) = ev.invalid
    assert (bad.record_id, bad.row, bad.rule) == ("C1", 3, "courtyard")
    assert "特优" in bad.diagnostic.message("zh")
    # C1 counted for no rule and did not use the month's once: C2 is the first check.
    assert [(e.record_id, e.rule, e.awarded) for e in ev.ledger] == [
        ("C2", "any_check", 1), ("C2", "courtyard", 5)]
    assert total(ev) == 6


def test_python_errors_in_rule_callables_become_invalid_records():
    rs = ruleset(rule("div", "分", lambda r: D(1) / r["quantity"]))
    ev = run([rec("Z1", "JG001", "2024-03-01", "分", 0)], rs=rs)
    assert [i.record_id for i in ev.invalid] == ["Z1"]
    assert ev.invalid[0].diagnostic.code == "E-EVAL-RECORD"


# -- reporting a period ------------------------------------------------------------------------

def test_month_report_with_limits_counted_from_earlier_months():
    rs = ruleset(rule("v", "志愿服务", lambda r: 2 * r["quantity"], limit=(cap(10, "quarter"),)))
    ev = run([rec("V1", "JG001", "2024-01-10", "志愿服务", 4),  # 8 in January
              rec("V2", "JG001", "2024-02-10", "志愿服务", 4)],  # 8, only 2 left this quarter
             rs=rs, period="2024-02")
    (v2,) = ev.ledger
    assert v2.awarded == 2 and v2.reasons[0]["used"] == 8
    assert total(ev) == 2
    assert ev.record_count == 1 and ev.replayed == 2


def test_records_of_other_years_and_after_the_period_are_ignored():
    ev = run([rec("O1", "JG001", "2023-12-31", "志愿服务", 5),
              rec("O2", "JG001", "2024-03-01", "志愿服务", 1),
              rec("O3", "JG001", "2024-04-01", "志愿服务", 5)], period="2024-Q1")
    # the April record is read (it could carry a veto for the year) but adds nothing to Q1
    assert total(ev) == 2 and ev.replayed == 2


def test_every_household_of_the_register_appears():
    ev = run([rec("R1", "JG002", "2024-03-01", "垃圾分类", 2)])
    assert [(r.household, r.head, r.total) for r in ev.results] == [
        ("JG001", "张大山", 0), ("JG002", "李秀英", 1), ("JG003", "王建国", 0)]


def test_unknown_households_are_listed_not_scored():
    ev = run([rec("R1", "JG0O1", "2024-03-01", "垃圾分类", 2)])
    assert [i.household for i in ev.unknown_households] == ["JG0O1"]
    assert all(r.total == 0 for r in ev.results)
    # Without a register, the households in the records are the register.
    ev = run([rec("R1", "JG0O1", "2024-03-01", "垃圾分类", 2)], households=None)
    assert [(r.household, r.total) for r in ev.results] == [("JG0O1", 1)]


def test_base_points_every_month():
    rs = jingou(base=BasePoints(D(100), "month"))
    ev = run([rec("R1", "JG001", "2024-02-01", "垃圾分类", 2)], rs=rs, period="2024-Q1")
    assert total(ev, "JG003") == 300  # three months' base, no records
    assert total(ev, "JG001") == 301
    base = [e for e in ev.ledger if e.rule == "base" and e.household == "JG001"]
    assert [(e.record_id, e.date.isoformat(), e.awarded) for e in base] == [
        (None, "2024-01-01", 100), (None, "2024-02-01", 100), (None, "2024-03-01", 100)]
    # A yearly base is dated 1 January: it shows in Q1, not in Q2.
    rs = jingou(base=BasePoints(D(60), "year"))
    assert total(run([], rs=rs, period="2024-Q1")) == 60
    assert total(run([], rs=rs, period="2024-Q2")) == 0


def test_matching_first_counts_only_the_first_rule():
    rs = jingou(matching="first")
    ev = run([rec("V1", "JG001", "2024-03-01", "志愿服务", 4)], rs=rs)
    assert ev.result("JG001").by_rule == {"volunteer": 8}


def test_person_unit_scores_persons():
    rs = ruleset(rule("v", "志愿服务", lambda r: 2 * r["quantity"], limit=(cap(10),)), unit="person")
    ev = run([rec("R1", "JG001", "2024-03-01", "志愿服务", 4, person="张大山"),
              rec("R2", "JG001", "2024-03-02", "志愿服务", 4, person="张小红"),
              rec("R3", "JG001", "2024-03-03", "志愿服务", 4, person="张大山"),
              rec("R4", "JG002", "2024-03-03", "志愿服务", 1)], rs=rs)
    rows = [(r.household, r.person, r.total) for r in ev.results]
    assert rows == [("JG001", "张大山", 10), ("JG001", "张小红", 8), ("JG002", None, 0),
                    ("JG003", None, 0)]
    assert [i.record_id for i in ev.invalid] == ["R4"]  # no person named


def test_totals_without_ledger_are_the_same():
    records = [rec("V1", "JG001", "2024-03-01", "志愿服务", 6),
               rec("F1", "JG002", "2024-03-02", "孝老爱亲")]
    a, b = run(records), run(records, with_ledger=False)
    assert b.ledger is None
    assert [r.to_json() for r in a.results] == [r.to_json() for r in b.results]


def test_presorted_input_is_checked():
    with pytest.raises(ValueError):
        run([rec("B", "JG001", "2024-03-02", "志愿服务"), rec("A", "JG001", "2024-03-01", "志愿服务")],
            presorted=True)


# -- properties --------------------------------------------------------------------------------

ACTIVITIES = ["志愿服务", "义务劳动", "参加坝坝会", "庭院检查", "垃圾分类", "乱扔垃圾", "焚烧秸秆",
              "违反禁渔", "获得表彰", "孝老爱亲", "红白喜事简办", "大操大办", "志原服务"]

record_strategy = st.builds(
    lambda i, hh, day, act, qty, grade, level: rec(
        f"R{i}", hh, (dt.date(2024, 1, 1) + dt.timedelta(days=day)).isoformat(), act, qty,
        grade=grade, level=level),
    st.integers(0, 10_000), st.sampled_from(["JG001", "JG002", "JG003"]),
    st.integers(0, 180), st.sampled_from(ACTIVITIES),
    st.sampled_from(["0.5", "1", "2", "3.5", "4", "6"]),
    st.sampled_from(["优", "良", "差", "特优"]), st.sampled_from(["县级", "市级", "省级", "国家级"]),
)


def _unique(records):
    seen, out = set(), []
    for r in records:
        if r["record_id"] not in seen:
            seen.add(r["record_id"])
            out.append(r)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(record_strategy, max_size=60).map(_unique), st.randoms(use_true_random=False),
       st.sampled_from(["2024-Q1", "2024-Q2", "2024-03", "2024-05", "2024"]))
def test_shuffling_input_rows_never_changes_any_result(records, rnd, period):
    first = run(records, period=period)
    shuffled = list(records)
    rnd.shuffle(shuffled)
    second = run(shuffled, period=period)
    assert dumps([r.to_json() for r in first.results]) == dumps([r.to_json() for r in second.results])
    assert [e.to_json() for e in first.ledger] == [e.to_json() for e in second.ledger]
    for kind in ("unmatched", "not_covered", "invalid", "unknown_households"):
        assert [i.record_id for i in getattr(first, kind)] == [
            i.record_id for i in getattr(second, kind)]


@settings(max_examples=60, deadline=None)
@given(st.lists(record_strategy, max_size=80).map(_unique))
def test_no_household_gets_more_than_a_cap_or_loses_more_than_a_deduction_cap(records):
    rs = jingou()
    ev = run(records, period="2024", rs=rs)
    sums: dict = {}
    for e in ev.ledger:
        r = rs.rule(e.rule)
        for limits, sign, key in ((r.limit, 1, e.rule), (r.deduction_limit, -1, e.rule)):
            for limit in limits:
                k = (e.household, key, sign, dt_key(e.date, limit.per))
                sums[k] = sums.get(k, 0) + (e.awarded if sign * e.awarded > 0 else 0)
                assert sign * sums[k] <= limit.max
        if e.category == "乡风文明" and e.awarded > 0:
            k = (e.household, "乡风文明", dt_key(e.date, "month"))
            sums[k] = sums.get(k, 0) + e.awarded
            assert sums[k] <= 12
    # Sum of the ledger equals the totals.
    for res in ev.results:
        assert res.total == sum((e.awarded for e in ev.ledger if e.household == res.household),
                                Decimal(0))


def dt_key(day, per):
    from xiangyue.periods import period_key
    return period_key(day, per)


def test_shuffle_smoke_with_a_fixed_seed():
    # A deterministic companion of the property test above, for a larger input.
    rng = random.Random(7)
    records = [rec(f"R{i}", rng.choice(["JG001", "JG002", "JG003"]),
                   (dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(180))).isoformat(),
                   rng.choice(ACTIVITIES), rng.choice(["0.5", "1", "4"]),
                   grade=rng.choice(["优", "良", "差"]), level="县级") for i in range(600)]
    a = run(records, period="2024-Q2")
    rng.shuffle(records)
    b = run(records, period="2024-Q2")
    assert [r.to_json() for r in a.results] == [r.to_json() for r in b.results]


# -- the reference rule file on a record table (jingou.yaml + tests/evaluate/records.csv) ------

FIXTURES = Path(__file__).parent / "evaluate"
JINGOU = Path(__file__).parent.parent / "rulesets" / "examples" / "jingou.yaml"


def from_files(period, rules=JINGOU, records="records.csv", households="households.csv"):
    rs = load_ruleset(rules)
    recs = read_records_file(rs, str(FIXTURES / records))
    hhs = read_households_file(rs, str(FIXTURES / households)) if households else None
    return evaluate(rs, recs, hhs, parse_period(period))


def test_reference_file_quarter_totals():
    ev = from_files("2024-Q1")
    # JG001: meetings 3, volunteer 5h: 10 of which 乡风文明 has 9 left, volunteer_long 0;
    #        county honour 10 in January. 3 + 9 + 0 + 10 = 22.
    # JG002: sorting 4.5 + 0.5 (cap 5); courtyard 优 5, 差 later in the month 0. = 10.
    # JG003: fishing -20 (vetoed for 2024), filial on 31 March 5 (1 April is Q2). = -15.
    # JG004: no records, 0.
    assert [(r.household, r.total, r.vetoed) for r in ev.results] == [
        ("JG001", 22, False), ("JG002", 10, False), ("JG003", -15, True), ("JG004", 0, False)]
    assert ev.result("JG001").by_category == {"乡风文明": 12, "荣誉": 10}
    assert [(i.record_id, i.row) for i in ev.unmatched] == [("R12", 13)]
    assert ev.record_count == 12


def test_reference_file_month_and_next_quarter():
    march = from_files("2024-03")
    assert march.result("JG001").total == 12  # the January honour is not in March
    assert march.result("JG003").vetoed  # the February offence vetoes the whole year
    q2 = from_files("2024-Q2")
    assert [(r.household, r.total) for r in q2.results if r.total] == [("JG003", 5)]


def test_reference_file_ledger_positions_and_rows():
    ev = from_files("2024-03")
    vol = next(e for e in ev.ledger if e.rule == "volunteer")
    assert vol.position.endswith("jingou.yaml:58")
    assert (vol.file.endswith("records.csv"), vol.row) == (True, 5)
    assert vol.reasons[0]["limit"] == "category_cap"


def test_invalid_grade_from_a_rule_file_is_reported_not_crashing():
    ev = from_files("2024-03", rules=FIXTURES / "lookup.yaml", records="lookup_records.csv",
                    households=None)
    (bad,) = ev.invalid
    assert (bad.record_id, bad.row, bad.rule) == ("C1", 2, "courtyard")
    assert bad.diagnostic.code == "E-EVAL-LOOKUP"
    assert "特优" in bad.diagnostic.message("zh")
    # Whole record dropped: C1 is not even counted by 'inspected', and C2 is the month's first.
    assert [(e.record_id, e.rule, e.awarded) for e in ev.ledger] == [
        ("C2", "inspected", 1), ("C2", "courtyard", 5)]


def _without_guards(rs):
    """The same rules with their ``when`` trees hidden: the engine must ask every rule."""
    from dataclasses import replace

    from xiangyue.rules.nodes import Bool

    return replace(rs, rules=tuple(replace(r, when_expr=Bool(True)) for r in rs.rules))


@settings(max_examples=40, deadline=None)
@given(st.lists(record_strategy, max_size=60).map(_unique),
       st.sampled_from(["2024-Q1", "2024-Q2", "2024-04"]))
def test_skipping_rules_by_their_guard_changes_nothing(records, period):
    rs = load_ruleset(JINGOU)
    fast, slow = run(records, period=period, rs=rs), run(records, period=period,
                                                          rs=_without_guards(rs))
    assert [r.to_json() for r in fast.results] == [r.to_json() for r in slow.results]
    assert [e.to_json() for e in fast.ledger] == [e.to_json() for e in slow.ledger]
    assert [i.record_id for i in fast.invalid] == [i.record_id for i in slow.invalid]


# -- escalation, tiers, base points, first match, persons: sample rule files ------------------

EXAMPLES = Path(__file__).parent.parent / "rulesets" / "examples"


def test_escalation_tiers_base_and_first_match_from_a_rule_file():
    def totals(period):
        ev = from_files(period, rules=EXAMPLES / "escalation.yaml",
                        records="escalation_records.csv", households="escalation_households.csv")
        return {r.household: r.total for r in ev.results}, ev

    q1, _ = totals("2024-Q1")
    # base 60 a year, dated 1 January: in Q1 only.
    # A01: dumping -8, then -15 (escalation per year). A02: county honour 10. A03: nothing.
    assert q1 == {"A01": 60 - 8 - 15, "A02": 60 + 10, "A03": 60}
    q2, ev = totals("2024-Q2")
    # A01: 3rd and 4th dumping, -20 each (last step repeats). A02: 省级 20 - 10 already = 10,
    # then 市级 15 < 20: 0. A03 (matching: first): 16 hours is 长时公益 10 only; 3 hours of
    # 义务巡河 is 公益劳动 round(0.75 × 3, 1) = 2.3.
    assert q2 == {"A01": -40, "A02": 10, "A03": Decimal("12.3")}
    assert [e.rule for e in ev.ledger if e.household == "A03"] == ["long_service", "service"]
    assert [e.raw for e in ev.ledger if e.household == "A01"] == [-20, -20]


def test_person_unit_from_a_rule_file():
    ev = from_files("2024-03", rules=EXAMPLES / "person.yaml", records="person_records.csv",
                    households=None)
    # 张三: 4 × 2 = 8, at most 6 a month. 李四: 2 + 1.5 × 3 = 6.5. 王五: -3.
    assert [(r.household, r.person, r.total) for r in ev.results] == [
        ("H1", "张三", 6), ("H1", "李四", Decimal("6.5")), ("H2", "王五", -3)]


# -- JSON numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, printed", [
    ("12", "12"), ("12.50", "12.5"), ("1E+2", "100"), ("-0.5", "-0.5"), ("0.1", "0.1"),
    ("0.30000000000000000001", "0.30000000000000000001"), ("-3.000", "-3"),
    ("123456789012345678.25", "123456789012345678.25"),
])
def test_decimals_print_as_exact_json_numbers(text, printed):
    out = dumps({"v": D(text)}, indent=None)
    assert out == '{"v": ' + printed + "}"
    assert loads(out)["v"] == D(text)


@pytest.mark.parametrize("text, printed", [
    ("2.0", "2"), ("-0.0", "0"), ("-0", "0"), ("0.10", "0.1"), ("1E-5", "0.00001"),
    ("1.10E+3", "1100"), ("2.50E+1", "25"), ("12345678901234567890", "12345678901234567890"),
    ("1E+30", "1000000000000000000000000000000"), ("5E-30", "0." + "0" * 29 + "5"),
])
def test_decimals_print_the_same_on_one_line_and_indented(text, printed):
    """On one line the C encoder writes what it can; the text is the writer's, every digit."""
    value = D(text)
    one_line = dumps({"v": value, "w": [value, {"x": value}]}, indent=None)
    indented = dumps({"v": value, "w": [value, {"x": value}]}, indent=0)
    assert one_line == '{"v": %s, "w": [%s, {"x": %s}]}' % ((printed,) * 3)
    assert one_line.replace(" ", "") == indented.replace("\n", "").replace(" ", "")


def test_one_line_json_is_the_writers_text_for_every_kind_of_value():
    from xiangyue.report.jsonout import _write

    values = [D("121.25"), D("-11"), D("0.1"), D("1E-7"), 1.5, 1e22, True, False, None,
              "志愿\u2028\x00\"", dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 8, 30), 0, -7]
    objs = [values, {"b": values, "a": {"z": [{}], "y": ()}}, {1: "int key"},
            {"k": {D("1.5"): "decimal key"}}, [[{"h": D("2.50"), "t": [D("-0.0")]}]]]
    for obj in objs:
        for sort_keys in (False, True):
            parts: list[str] = []
            _write(obj, parts, None, 0, sort_keys)
            assert dumps(obj, indent=None, sort_keys=sort_keys) == "".join(parts)


@pytest.mark.parametrize("d", [
    {}, {"sorting": D("4.5"), "courtyard": D("-3"), "志愿服务": D("0.30000000000000000001")},
    {"earned": D("12"), "records": 4, "last_date": dt.date(2024, 3, 1), "base": D("0")},
    {"last_date": None, 'a"b\u2028': "x\ty", "n": D("1E+2")},
])
def test_flat_dicts_through_the_c_encoder_print_as_the_writer(d):
    # a stored run's totals (one-line dumps, the C encoder) read back as the Python writer's text
    from xiangyue.report.jsonout import _write

    parts: list[str] = []
    _write(d, parts, None, 0, False)
    assert dumps(d, indent=None) == "".join(parts)


def test_json_keeps_chinese_and_refuses_nan():
    assert dumps(["志愿服务", dt.date(2024, 3, 1)], indent=None) == '["志愿服务", "2024-03-01"]'
    with pytest.raises(ValueError):
        dumps(D("NaN"))
    for bad in (D("NaN"), D("-Infinity"), float("nan"), float("inf")):
        with pytest.raises(ValueError):
            dumps([bad], indent=None)
