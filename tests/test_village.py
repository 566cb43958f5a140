"""The Python API: one object for a village's rule file and database."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue import Village
from xiangyue.errors import InputError



ROOT = Path(__file__).parent.parent
RULES = ROOT / "rulesets" / "examples" / "jingou.yaml"


def test_village_end_to_end(tmp_path):
    hh = tmp_path / "households.csv"
    hh.write_text("户号,户主,网格\nH1,张三,第1网格\nH2,李四,第1网格\n", encoding="utf-8")
    rec = tmp_path / "records.csv"
    rec.write_text(
        "记录编号,户号,日期,事项,数量\n"
        "R1,H1,2024-03-02,志愿服务,3\n"
        "R2,H1,2024-03-09,志愿服务,3\n"      # 6 + 6 → capped at 10
        "R3,H2,2024-03-10,乱扔垃圾,\n",
        encoding="utf-8")
    cases = tmp_path / "cases.csv"
    cases.write_text("事项编号,清单事项,步骤,日期\nC1,证明开具,申请,2024-03-01\nC1,证明开具,出具,2024-03-03\n",
                     encoding="utf-8")
    village = Village(tmp_path / "v.db", RULES)
    assert village.import_households(hh).added == 2
    assert village.import_records(rec).added == 3
    village.import_cases(cases)
    ev = village.evaluate("2024-03")
    totals = {r.household: r.total for r in ev.results}
    assert totals == {"H1": Decimal(10), "H2": Decimal(-5)}

    # a second Village on the same database finds the rule file by itself
    again = Village(tmp_path / "v.db")
    story = again.explain("H1", "2024-03")
    assert "封顶 10 分，实得 4 分" in story.text()
    report = again.check("2024-03-31")
    assert [(c.case_id, c.status) for c in report.cases] == [("C1", "violation")]
    boards = again.boards("2024-03")
    assert [e.household for e in boards.red] == ["H1"]


def test_a_database_without_a_rule_file_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("XIANGYUE_RULESET", raising=False)
    with pytest.raises(InputError) as info:
        Village(tmp_path / "none.db").ruleset
    assert info.value.diagnostics[0].code == "E-RULESET-NONE"


def test_python_rows_are_typed_like_a_table_file_and_untyped_ones_are_refused():
    from xiangyue.points.evaluate import evaluate
    from xiangyue.points.inputs import Inputs, typed_households, typed_records
    from xiangyue.periods import parse_period
    from xiangyue.rules.pipeline import load_ruleset

    rules = load_ruleset(RULES)
    rows = [{"记录编号": "R1", "户号": "H1", "日期": "2024-03-01", "事项": "垃圾分类", "数量": "3"},
            {"record_id": "R2", "household": "H1", "date": "2024-03-02", "activity": "志愿服务", "quantity": 0.5}]
    records = typed_records(rules, rows)
    register = typed_households(rules, [{"户号": "H1", "户主": "张三", "网格": "1"}])
    ev = evaluate(rules, Inputs(records, register), parse_period("2024-03"))
    assert ev.results[0].total == Decimal("2.5")  # 0.5 × 3 + 2 × 0.5, exactly
    with pytest.raises(InputError) as info:
        typed_records(rules, [{"记录编号": "R3", "户号": "H1", "日期": "2024-02-30", "事项": "x"}])
    assert (info.value.diagnostics[0].code, info.value.diagnostics[0].line) == ("E-TABLE-DATE-DAY", 1)
    with pytest.raises(InputError) as info:
        evaluate(rules, Inputs(rows, register), parse_period("2024-03"))  # not typed: refused, not dropped
    assert info.value.diagnostics[0].code == "E-EVAL-UNTYPED"
