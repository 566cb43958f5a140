"""``xiangyue test``: examples in rule files and *.test.yaml files, failures, coverage."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue.errors import XiangyueError
from xiangyue.review.ruletest import render_text, run_tests

ROOT = Path(__file__).parent.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"
REVIEW = Path(__file__).parent / "review"


def copy_rules(tmp_path: Path, name: str = "dongfeng.yaml") -> Path:
    """The review village (no examples of its own) beside the test files of a test."""
    path = tmp_path / name
    path.write_text((REVIEW / "village-v1.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reference_file_passes_with_full_coverage():
    report = run_tests([str(JINGOU)])
    assert report.ok, render_text(report, "zh")
    assert len(report.results) >= 13
    cov = report.coverage[str(JINGOU)]
    assert cov.uncovered_rules == [] and cov.unbound_limits == []
    assert len(cov.rules) == 13 and len(cov.limits) == 9
    assert cov.full


def test_a_failing_example_shows_expected_actual_and_the_ledger(tmp_path):
    rules = copy_rules(tmp_path)
    write(tmp_path / "dongfeng.test.yaml", """\
ruleset: dongfeng.yaml
examples:
  - name: 志愿服务封顶
    period: 2024-03
    records:
      - {记录编号: R1, 户号: H1, 日期: 2024-03-01, 事项: 志愿服务, 数量: 4}
      - {记录编号: R2, 户号: H1, 日期: 2024-03-02, 事项: 志愿服务, 数量: 2}
    expect:
      totals: {H1: 14}
      by_rule: {H1: {volunteer: 12, volunteer_long: 2}}
      vetoed: [H1]
""")
    report = run_tests([str(rules)])
    assert not report.ok
    [res] = report.results
    assert res.pos.file.endswith("dongfeng.test.yaml") and res.pos.line == 3
    checks = {f.check: (f.expected, f.actual) for f in res.failures}
    # 8 + 2 (long) on R1, then volunteer 2 more to its cap 10: category 乡风文明 12 exactly
    assert checks == {
        "totals.H1": (Decimal(14), Decimal(12)),
        "by_rule.H1.volunteer": (Decimal(12), Decimal(10)),
        "vetoed": (["H1"], []),
    }
    total = res.failures[0]
    assert total.explain[0] == "H1 户 2024年3月积分明细"
    assert "3月2日 志愿服务 ×2：按“志愿服务”应得 4 分；本月志愿服务已得 8 分，封顶 10 分，实得 2 分" in total.explain
    text = render_text(report, "zh")
    assert "    totals.H1：期望 14，实际 12" in text
    assert "      | 3月1日 志愿服务 ×4：按“志愿服务”得 8 分；按“志愿服务满4小时加分”得 2 分" in text
    assert "共 1 个算例：0 个通过，1 个未通过" in text
    en = render_text(run_tests([str(rules)], lang="en"), "en")
    assert "    totals.H1: expected 14, got 12" in en


def test_coverage_names_rules_and_limits_no_example_reaches(tmp_path):
    rules = copy_rules(tmp_path)
    write(tmp_path / "dongfeng.test.yaml", """\
ruleset: dongfeng.yaml
examples:
  - name: 坝坝会
    records:
      - {户号: H1, 日期: 2024-03-01, 事项: 参加坝坝会}
      - {户号: H1, 日期: 2024-03-02, 事项: 参加坝坝会}
    expect: {totals: {H1: 2}}
""")
    report = run_tests([str(rules)])
    assert report.ok
    cov = report.coverage[str(rules)]
    assert cov.covered_rules == {"meeting"}
    assert "meeting" not in cov.uncovered_rules and "volunteer" in cov.uncovered_rules
    assert ("rules", "meeting", "limit") in cov.unbound_limits  # 2 of 3: the limit never binds
    text = render_text(report, "zh")
    assert "覆盖情况：规则 1/9，上限起作用 0/7" in text
    assert "  没有算例触及的限制：规则 volunteer 的 limit、规则 labour 的 limit、规则 meeting 的 limit" in text


def test_records_without_ids_are_numbered_and_the_period_inferred(tmp_path):
    rules = copy_rules(tmp_path)
    write(tmp_path / "dongfeng.test.yaml", """\
ruleset: dongfeng.yaml
examples:
  - name: 写错的事项
    records:
      - {户号: H1, 日期: 2024-02-01, 事项: 志愿服务}
      - {户号: H1, 日期: 2024-03-01, 事项: 志原服务}
    expect: {unmatched: [R2], totals: {H1: 2}}
""")
    report = run_tests([str(rules)])
    assert report.ok, render_text(report, "zh")
    assert report.results[0].evaluation.period.key == "2024-Q1"


def test_cases_and_boards_expectations(tmp_path):
    rules = copy_rules(tmp_path)
    write(tmp_path / "dongfeng.test.yaml", """\
ruleset: dongfeng.yaml
examples:
  - name: 证明开具超期
    as_of: 2024-03-31
    cases:
      - {事项编号: C1, 清单事项: certificate, 步骤: 申请, 日期: 2024-03-01}
      - {事项编号: C1, 清单事项: certificate, 步骤: 出具, 日期: 2024-03-02}
      - {事项编号: C2, 清单事项: 证明开具, 步骤: 申请, 日期: 2024-03-01}
    expect:
      cases:
        C1: {status: compliant}
        C2: {status: pending, findings: [overdue]}
  - name: 红黑榜
    period: 2024-Q1
    records:
      - {户号: H1, 日期: 2024-03-01, 事项: 孝老爱亲}
      - {户号: H2, 日期: 2024-03-01, 事项: 乱扔垃圾}
    expect:
      board: {red: [H1], black: [H1]}
""")
    report = run_tests([str(rules)])
    first, second = report.results
    # C2: 出具 was due by 3月2日 and is still missing on 3月31日: overdue, so a violation
    assert {f.check: (f.expected, f.actual) for f in first.failures} == {
        "cases.C2.status": ("pending", "violation")}
    assert first.failures[0].explain[0].startswith("overdue: ")
    assert [(f.check, f.expected, f.actual) for f in second.failures] == [
        ("board.black", ["H1"], ["H2"])]


def test_a_test_file_given_directly_and_its_rule_file_dedupe(tmp_path):
    rules = copy_rules(tmp_path)
    test_file = write(tmp_path / "dongfeng.extra.test.yaml", """\
ruleset: ./dongfeng.yaml
examples:
  - name: 一条
    records: [{户号: H1, 日期: 2024-03-01, 事项: 大操大办}]
    expect: {totals: {H1: -10}}
""")
    report = run_tests([str(rules), str(test_file)])
    assert len(report.results) == 1 and report.ok
    assert list(report.coverage) == [str(rules)]


def test_invalid_examples_are_errors_with_positions(tmp_path):
    rules = copy_rules(tmp_path)
    text = """\
ruleset: dongfeng.yaml
examples:
  - name: 错误
    period: 2024-13
    records:
      - {户号: H1, 日期: 2024-02-30, 事项: 志愿服务, 时长: 3}
    expect:
      total: {H1: 2}
      by_rule: {H1: {volunter: 2}}
"""
    write(tmp_path / "dongfeng.test.yaml", text)
    with pytest.raises(XiangyueError) as info:
        run_tests([str(rules)])
    err = info.value
    assert err.kind == "unusable"
    got = [(d.code, d.line, d.column) for d in err.diagnostics]
    assert got == [
        ("E-TEST-PERIOD", 4, 13),
        ("E-TEST-CELL", 6, 22),
        ("E-TEST-COLUMN", 6, 44),
        ("E-TEST-EXPECT", 8, 7),
        ("E-TEST-RULE", 9, 22),
    ]
    cell = err.diagnostics[1]
    assert cell.message("zh") == "算例“错误”第 1 行：日期“2024-02-30”不存在"
    assert err.diagnostics[2].message("en") == "example '错误': unknown column '时长'"


def test_a_test_file_with_a_bad_shape(tmp_path):
    copy_rules(tmp_path)
    path = write(tmp_path / "x.test.yaml", "ruleset: dongfeng.yaml\nexamples:\n  - name: 缺 expect\n")
    with pytest.raises(XiangyueError) as info:
        run_tests([str(path)])
    d = info.value.diagnostics[0]
    assert (d.code, d.line) == ("E-SCHEMA-REQUIRED", 3)


def test_a_rule_file_with_errors_is_exit_2(tmp_path):
    path = write(tmp_path / "bad.yaml", "xiangyue: 1\nrules:\n  - id: x\n    when: 事项 ==\n    points: 1\n")
    with pytest.raises(XiangyueError) as info:
        run_tests([str(path)])
    assert info.value.kind == "unusable"
