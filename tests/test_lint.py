"""County guardrails: ``lint`` findings at the offending rule, naming the policy clause."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue.errors import XiangyueError
from xiangyue.review.lint import expr_range, lint_files, load_policy, points_range, record_range
from xiangyue.rules.parser import parse_expression
from xiangyue.rules.pipeline import load_ruleset

ROOT = Path(__file__).parent.parent
POLICY = str(ROOT / "rulesets" / "policies" / "jiangyang-county.policy.yaml")
JINGOU = str(ROOT / "rulesets" / "examples" / "jingou.yaml")
FENGLONG = str(ROOT / "rulesets" / "examples" / "fenglong.yaml")
POLICY_TEXT = Path(POLICY).read_text(encoding="utf-8")
JINGOU_TEXT = Path(JINGOU).read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def policy_line(key: str) -> str:
    return f"{POLICY}:{line_of(POLICY_TEXT, key + ':')}"


def test_reference_village_against_the_county_policy():
    report = lint_files(POLICY, [JINGOU])
    got = [(d.code, d.line, d.args.get("rule")) for d in report.findings]
    assert got == [
        ("L-NO-MONTHLY-LIMIT", line_of(JINGOU_TEXT, "id: volunteer_long"), "volunteer_long"),
        ("L-MONTHLY-DEDUCTION-UNBOUNDED", line_of(JINGOU_TEXT, "id: straw"), "straw"),
        ("L-MONTHLY-DEDUCTION-UNBOUNDED", line_of(JINGOU_TEXT, "id: fishing"), "fishing"),
        ("L-MAX-POINTS", line_of(JINGOU_TEXT, "id: honour"), "honour"),
        ("L-NO-MONTHLY-LIMIT", line_of(JINGOU_TEXT, "id: honour"), "honour"),
        ("L-MONTHLY-DEDUCTION-UNBOUNDED", line_of(JINGOU_TEXT, "id: banquet"), "banquet"),
    ]
    honour = report.findings[3]
    assert honour.message("zh") == (
        "规则 honour（获得表彰）一条记录最多可加 30 分，超过县里规定的单项最多 20 分"
        f"（违反县级规定 {policy_line('max_points')} max_points: 20）")
    assert honour.message("en").endswith(f"(breaks {policy_line('max_points')} max_points: 20)")
    assert not report.ok


def test_the_template_village_totals_its_monthly_deductions():
    """Fenglong: every deduction rule is bounded; together 3 (courtyard 差 once a month)
    + 20 (litter) + 20 (straw) + 20 (fishing) + 20 (rubble) = 83 > 60."""
    report = lint_files(POLICY, [FENGLONG])
    [d] = report.findings
    assert d.code == "L-MONTHLY-DEDUCTION"
    assert d.args["value"] == "83"
    assert d.args["detail_zh"] == "庭院检查 3、乱扔垃圾 20、乱倒建筑垃圾 20、焚烧秸秆 20、违反长江禁渔 20"
    assert d.file.endswith("jiangyang-county.yaml")  # the first rule taking points is inherited


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


RULES = """\
xiangyue: 1
village: 测试村
fields:
  - {id: activity, label: 事项, type: text, required: true}
  - {id: quantity, label: 数量, type: decimal, default: 1, min: 0, max: 10}
categories:
  - id: 乡风文明
  - id: 遵纪守法
    deduction_limit: {max: 25, per: month}
rules:
  - id: petition
    name: 无理上访
    category: 遵纪守法
    when: 事项 in ["越级上访", "缠访"]
    points: -10
  - id: hours
    name: 志愿时长
    category: 乡风文明
    when: 事项 == "志愿服务"
    points: 3 × 数量
    limit: {max: 25, per: quarter}
  - id: fight
    name: 打架斗殴
    category: 遵纪守法
    when: 事项 == "打架斗殴"
    points: -40
"""


def test_each_clause(tmp_path):
    policy = write(tmp_path, "p.policy.yaml", """\
xiangyue_policy: 1
max_points: 20
max_deduction: 30
forbidden: [参与宗教活动, 上访]
required_categories: [乡风文明, 人居环境]
positive_monthly_limit: true
max_monthly_deduction: 20
""")
    rules = write(tmp_path, "r.yaml", RULES)
    report = lint_files(policy, [rules])
    got = [(d.code, d.line, d.args.get("rule") or d.args.get("category")) for d in report.findings]
    assert got == [
        ("L-CATEGORY-MISSING", 7, "人居环境"),
        ("L-FORBIDDEN", 11, "petition"),
        ("L-MONTHLY-DEDUCTION", 11, None),  # the category's deduction limit: 25 > 20
        ("L-MAX-POINTS", 16, "hours"),  # 3 × 数量 with 数量 ≤ 10: 30, cap 25 -> 25 > 20
        ("L-NO-MONTHLY-LIMIT", 16, "hours"),  # a quarterly cap is not a monthly limit
        ("L-MAX-DEDUCTION", 22, "fight"),
    ]
    by_code = {d.code: d for d in report.findings}
    assert by_code["L-MAX-POINTS"].args["value"] == "25"
    assert by_code["L-FORBIDDEN"].args["policy"].endswith("p.policy.yaml:4 forbidden: 上访")
    assert by_code["L-CATEGORY-MISSING"].args["policy"].endswith("p.policy.yaml:5 required_categories: 人居环境")
    # the category's deduction cap (25) bounds petition and fight together: not unbounded
    assert by_code["L-MONTHLY-DEDUCTION"].args["value"] == "25"


def test_monthly_deduction_over_the_limit_names_what_adds_up(tmp_path):
    policy = write(tmp_path, "p.policy.yaml", "xiangyue_policy: 1\nmax_monthly_deduction: 20\n")
    rules = write(tmp_path, "r.yaml", RULES)
    [d] = lint_files(policy, [rules]).findings
    assert d.code == "L-MONTHLY-DEDUCTION"
    assert d.message("zh").startswith("一户一个月最多可被扣 25 分（类别 遵纪守法 25），超过县里规定的 20 分")


def test_a_clean_file_has_no_findings(tmp_path):
    policy = write(tmp_path, "p.policy.yaml", "xiangyue_policy: 1\nmax_points: 30\nmax_deduction: 40\n")
    rules = write(tmp_path, "r.yaml", RULES)
    report = lint_files(policy, [rules])
    assert report.ok and report.files == {rules: []}


def test_an_invalid_policy_is_exit_2_with_positions(tmp_path):
    policy = write(tmp_path, "p.policy.yaml", "xiangyue_policy: 1\nmax_point: 20\nmax_deduction: -3\n")
    with pytest.raises(XiangyueError) as info:
        load_policy(policy)
    err = info.value
    assert err.kind == "unusable"
    assert [(d.code, d.line) for d in err.diagnostics] == [("E-SCHEMA-UNKNOWN-KEY", 2),
                                                           ("E-SCHEMA-RANGE", 3)]
    assert "max_points" in err.diagnostics[0].hint("zh")


def test_invalid_rule_files_and_policy_are_reported_together(tmp_path):
    policy = write(tmp_path, "p.policy.yaml", "- not a mapping\n")
    rules = write(tmp_path, "r.yaml", RULES.replace("points: -40", "points: -"))
    with pytest.raises(XiangyueError) as info:
        lint_files(policy, [rules])
    assert {Path(d.file).name for d in info.value.diagnostics} == {"p.policy.yaml", "r.yaml"}
    assert info.value.kind == "unusable"


@pytest.mark.parametrize("text, bound", [
    ("5", (5, 5)),
    ("-3 × 数量", (-30, 0)),
    ("数量 - 2", (-2, 8)),
    ('按 等级 {"优" → 5, "差" → -3}', (-3, 5)),
    ("如果 数量 > 2 则 4 否则 1", (1, 4)),
    ("min(数量, 4)", (0, 4)),
    ("max(数量 × 2, 3)", (3, 20)),
    ("abs(数量 - 12)", (2, 12)),
    ("数量 / 2", (0, 5)),
    ("数量 × 数量", (0, 100)),
    ("round(数量 / 3)", (0, 4)),
    ("备注 == \"x\"", (None, None)),
])
def test_expression_bounds(text, bound):
    rs = load_ruleset(write_rules(text))
    lo, hi = expr_range(parse_expression(text), rs)
    want = tuple(None if b is None else Decimal(b) for b in bound)
    assert (lo, hi) == want


def write_rules(points: str) -> str:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = folder / "r.yaml"
    path.write_text(RULES.replace("  - {id: quantity", "  - {id: note, label: 备注, type: text}\n"
                                  "  - {id: grade, label: 等级, type: text}\n  - {id: quantity"),
                    encoding="utf-8")
    return str(path)


def test_record_range_applies_the_rules_own_limits():
    rs = load_ruleset(JINGOU)
    assert points_range(rs.rule("volunteer"), rs) == (Decimal(0), None)  # 数量 has no max
    assert record_range(rs.rule("volunteer"), rs) == (Decimal(0), Decimal(10))
    assert record_range(rs.rule("litter"), rs) == (Decimal(-5), Decimal(-5))
    assert record_range(rs.rule("honour"), rs) == (Decimal(10), Decimal(30))


def test_count_limits_and_daily_periods_bound_a_month(tmp_path):
    policy = write(tmp_path, "p.policy.yaml",
                   "xiangyue_policy: 1\nmax_monthly_deduction: 60\npositive_monthly_limit: true\n")
    rules = write(tmp_path, "r.yaml", """\
xiangyue: 1
village: 测试村
name: 细则
version: "1"
fields: [{id: activity, label: 事项, type: text}]
rules:
  - {id: daily, when: 事项 == "a", points: 1, limit: {times: 1, per: 天}}
  - {id: mixed, when: 事项 == "b", points: -2, deduction_limit: {times: 1, per: 天}}
""")
    # daily: at most one record a day satisfies the monthly limit; mixed: -2 a day, 31 days = 62
    [d] = lint_files(policy, [rules]).findings
    assert d.code == "L-MONTHLY-DEDUCTION"
    assert "62" in d.message("zh")
