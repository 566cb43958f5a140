"""评选 (selections) and star ratings, on the reference rule file; expected values by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue import Village
from xiangyue.errors import InputError, RulesetError
from xiangyue.points.evaluate import evaluate as _door
from xiangyue.points.results import Evaluation, UnitResult
from xiangyue.periods import parse_period
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.points.selections import (compile_selection, find_selection, rate_stars, render_selection,

                                 run_selection)


def evaluate(rs, records, households, period, *, with_ledger=True, presorted=False):
    """The reference evaluator through the one evaluation door."""
    from xiangyue.points.inputs import Inputs

    return _door(rs, Inputs(records, households, presorted), period, engine="reference",
                 with_ledger=with_ledger)

D = Decimal
ROOT = Path(__file__).parent.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"

REGISTER = [{"household": h, "head": f"户主{h}", "grid": "第1网格"}
            for h in ("H1", "H2", "H3", "H4", "H5")]


def rec(rid, hh, day, activity, **extra):
    out = {"record_id": rid, "household": hh, "date": dt.date.fromisoformat(day),
           "activity": activity, "quantity": D(1), "grade": None, "level": None}
    out.update(extra)
    return out


def excellent(hh, months, start=0):
    return [rec(f"{hh}-C{start + i}", hh, f"2024-{m:02d}-05", "庭院检查", grade="优")
            for i, m in enumerate(months)]


def year_records():
    rs = []
    # H1: 优 in 9 months (9 × 5 = 45) + 市级 15 = 60: exactly both thresholds → qualifies
    rs += excellent("H1", range(1, 10)) + [rec("H1-X", "H1", "2024-10-01", "获得表彰", level="市级")]
    # H2: 10 优 records, two of them in September (the second is awarded 0: once a month),
    # so the count is 10 but the points 9 × 5 = 45; + 县级 10 = 55 < 60 → fails on total only
    rs += excellent("H2", list(range(1, 10)) + [9]) + [
        rec("H2-X", "H2", "2024-10-01", "获得表彰", level="县级")]
    # H3: 8 优 (40) + 国家级 30 + 良 2 = 72, but only 8 优 → fails on the count only (良 is not 优)
    rs += excellent("H3", range(1, 9)) + [
        rec("H3-X", "H3", "2024-10-01", "获得表彰", level="国家级"),
        rec("H3-G", "H3", "2024-11-05", "庭院检查", grade="良")]
    # H4: 9 优 (45) + 国家级 30 + 省级 20 - 禁渔 20 = 75, but vetoed → fails on the veto only
    rs += excellent("H4", range(1, 10)) + [
        rec("H4-X", "H4", "2024-10-01", "获得表彰", level="国家级"),
        rec("H4-Y", "H4", "2024-10-02", "获得表彰", level="省级"),
        rec("H4-F", "H4", "2024-06-20", "违反禁渔")]
    # H5: nothing → count 0, total 0: both criteria fail
    # a 2023 record of H3 is outside the period and not counted
    rs += [rec("H3-OLD", "H3", "2023-12-05", "庭院检查", grade="优")]
    return rs


@pytest.fixture(scope="module")
def jingou():
    return load_ruleset(JINGOU)


@pytest.fixture(scope="module")
def result(jingou):
    records = year_records()
    ev = evaluate(jingou, records, REGISTER, parse_period("2024"), with_ledger=False)
    return run_selection(jingou, find_selection(jingou, "美丽庭院"), ev, records)


def outcome(result, hh):
    return next(o for o in result.outcomes if o.household == hh)


def test_qualified_at_both_boundaries(result):
    assert [o.household for o in result.qualified] == ["H1"]
    o = outcome(result, "H1")
    assert o.total == 60 and o.failures == []
    assert o.values == {'计数(事项 == "庭院检查" 且 等级 == "优")': 9}


def test_count_counts_records_not_points(result):
    o = outcome(result, "H2")
    assert o.values['计数(事项 == "庭院检查" 且 等级 == "优")'] == 10
    assert [f.zh for f in o.failures] == ["总分 为 55，需 ≥ 60"]
    assert [f.en for f in o.failures] == ["总分 is 55, needs >= 60"]


def test_failed_count_names_the_actual_value(result):
    o = outcome(result, "H3")
    assert o.total == 72
    assert [f.zh for f in o.failures] == ['计数(事项 == "庭院检查" 且 等级 == "优") 为 8 次，需 ≥ 9']


def test_vetoed_household_is_excluded_with_no_veto(result):
    o = outcome(result, "H4")
    assert o.total == 75 and o.vetoed
    assert [f.zh for f in o.failures] == ["本期被一票否决，不参加评选"]


def test_household_without_records_fails_both(result):
    o = outcome(result, "H5")
    assert [f.zh for f in o.failures] == ['计数(事项 == "庭院检查" 且 等级 == "优") 为 0 次，需 ≥ 9',
                                          "总分 为 0，需 ≥ 60"]


def test_render_table_and_json(result):
    text = render_selection(result, "table", "zh")
    assert "符合条件：1 户" in text and "不符合：4 户" in text
    assert "为 8 次，需 ≥ 9" in text
    from xiangyue.report.jsonout import loads

    data = loads(render_selection(result, "json", "en"))
    assert [o["household"] for o in data["qualified"]] == ["H1"]
    h3 = next(o for o in data["not_qualified"] if o["household"] == "H3")
    assert h3["reasons"] == [{"criterion": '计数(事项 == "庭院检查" 且 等级 == "优") ≥ 9',
                              "message": '计数(事项 == "庭院检查" 且 等级 == "优") is 8, needs >= 9'}]


# -- criteria written other ways ---------------------------------------------------------------

def _ruleset_with(tmp_path, selections_yaml: str):
    text = JINGOU.read_text(encoding="utf-8")
    start = text.index("# 评选：美丽庭院")
    end = text.index("# 积分超市")
    path = tmp_path / "rules.yaml"
    path.write_text(text[:start] + selections_yaml + "\n" + text[end:], encoding="utf-8")
    return path


def test_points_function_flipped_comparison_and_no_veto_false(tmp_path, jingou):
    path = _ruleset_with(tmp_path, """selections:
  - id: clean
    name: 清洁户
    per: year
    no_veto: false
    criteria:
      - '得分("courtyard") >= 45'
      - '9 <= count(activity == "庭院检查")'
      - 非 一票否决 或 总分 > 70
""")
    rs = load_ruleset(path)
    records = year_records()
    ev = evaluate(rs, records, REGISTER, parse_period("2024"), with_ledger=False)
    res = run_selection(rs, rs.selections[0], ev, records)
    # courtyard points: H1 45, H2 45, H3 40 + 2 = 42, H4 45, H5 0
    # count of 庭院检查: H1 9, H2 10, H3 9 (8 优 + 1 良), H4 9, H5 0
    # not vetoed or total > 70: H4 is vetoed with 75 → holds
    assert [o.household for o in res.qualified] == ["H1", "H2", "H4"]
    h3 = next(o for o in res.outcomes if o.household == "H3")
    assert [f.zh for f in h3.failures] == ['得分("courtyard") 为 42，需 ≥ 45']
    h5 = next(o for o in res.outcomes if o.household == "H5")
    assert [f.zh for f in h5.failures] == ['得分("courtyard") 为 0，需 ≥ 45',
                                          'count(activity == "庭院检查") 为 0 次，需 ≥ 9']


def test_record_field_outside_count_is_an_error(tmp_path):
    path = _ruleset_with(tmp_path, """selections:
  - id: bad
    name: 错误评选
    per: year
    criteria:
      - 事项 == "庭院检查"
""")
    rs = load_ruleset(path)
    with pytest.raises(RulesetError) as err:
        compile_selection(rs, rs.selections[0])
    d = err.value.diagnostics[0]
    assert d.code == "E-SELECT-NAME" and d.line > 0
    assert "事项 只能写在 计数(...) 里面" in d.message("zh")


def test_unknown_selection_and_wrong_period(tmp_path):
    with pytest.raises(InputError) as err:
        Village(ruleset=JINGOU, records=tmp_path / "x.csv").select("美丽院子", "2024")
    assert err.value.diagnostics[0].code == "E-SELECT-UNKNOWN"
    assert "美丽庭院" in err.value.diagnostics[0].hint("zh")
    with pytest.raises(InputError) as err:
        Village(ruleset=JINGOU, records=tmp_path / "x.csv").select("beautiful_courtyard",
                                                                   "2024-Q2")
    d = err.value.diagnostics[0]
    assert d.code == "E-SELECT-PERIOD" and d.hint("zh") == "期间写成 2024"


# -- stars ------------------------------------------------------------------------------------

def test_star_levels_at_their_thresholds(jingou):
    results = [UnitResult("S0", total=D("19.5")), UnitResult("S1", total=D(20)),
               UnitResult("S2", total=D("59.99")), UnitResult("S3", total=D(60)),
               UnitResult("SV", total=D(100), vetoed=True), UnitResult("SN", total=D(-3))]
    ev = Evaluation(parse_period("2024"), jingou, results, None, [], [], [], [], 0, 0)
    res = rate_stars(jingou, ev)
    got = {h: (lv.stars if lv else 0) for h, _, _, _, _, lv in res.rows}
    assert got == {"S0": 0, "S1": 1, "S2": 2, "S3": 3, "SV": 0, "SN": 0}
    data = res.to_json()
    assert data["households"][1] == {"household": "S1", "head": None, "grid": None, "total": 20,
                                     "vetoed": False, "stars": 1, "name": "一星文明户"}
