"""Semantic diff: every kind of change found and worded, renames, order, expressions as trees.

The pair tests/review/village-v1.yaml -> village-v2.yaml is one realistic revision; the other
tests write small variants of v1 into a temporary folder.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue.review.diff import canonical_text, diff_files, diff_rulesets, load_pair
from xiangyue.errors import XiangyueError
from xiangyue.report.diff import render
from xiangyue.rules.pipeline import load_ruleset

REVIEW = Path(__file__).parent / "review"
V1 = str(REVIEW / "village-v1.yaml")
V2 = str(REVIEW / "village-v2.yaml")
V1_TEXT = (REVIEW / "village-v1.yaml").read_text(encoding="utf-8")


def variant(tmp_path: Path, *edits: tuple[str, str], name: str = "new.yaml") -> str:
    """v1 with each (old, new) text replaced exactly once."""
    text = V1_TEXT
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def kinds(d) -> list[tuple[str, str]]:
    return [(c.kind, c.path) for c in d.changes]


def by_path(d, path: str):
    return next(c for c in d.changes if c.path == path)


# --------------------------------------------------------------------------------------------
# The realistic revision


def test_every_change_of_the_revision_is_found_and_nothing_else():
    d = diff_files(V1, V2)
    assert kinds(d) == [
        ("removed", "rules.straw"),
        ("changed", "rules.labour.points"),
        ("changed", "rules.volunteer.limit"),
        ("changed", "rules.meeting.when"),
        ("changed", "rules.litter.deduction_limit"),
        ("added", "rules.rubble"),
        ("changed", "rules.filial.once"),
        ("renamed", "rules.lavish_banquet"),
        ("changed", "categories.乡风文明.limit"),
        ("removed", "checklists.seal"),
        ("added", "checklists.certificate.procedures.certificate.steps.审核"),
        ("changed", "checklists.payment.procedures.payment.steps.财务公开.within"),
        ("changed", "checklists.allowance.procedures.allowance.steps.order"),
        ("added", "checklists.project"),
        ("changed", "fields.quantity.max"),
        ("changed", "metadata.version"),
        ("changed", "metadata.effective.from"),
        ("changed", "metadata.adopted.date"),
        ("changed", "metadata.adopted.attended"),
        ("changed", "metadata.adopted.approved"),
    ]
    assert not d.equivalent
    assert len(d.metadata_changes) == 5 and all(c.metadata for c in d.metadata_changes)


def test_changes_are_worded_in_plain_chinese():
    d = diff_files(V1, V2)
    words = {c.path: c.message("zh") for c in d.changes}
    assert words["rules.volunteer.limit"] == "志愿服务：每月上限由 10 分改为 8 分"
    assert words["rules.rubble"] == ("新增扣分项：乱倒建筑垃圾 -10 分（类别 人居环境；"
                                     "条件：事项 == \"乱倒建筑垃圾\"）")
    assert words["rules.straw"] == "删除扣分项：焚烧秸秆（straw）"
    assert words["rules.labour.points"] == "义务投工投劳：分值由 3 × 数量 改为 4 × 数量"
    assert words["rules.litter.deduction_limit"] == "乱扔垃圾：每月扣分上限由 20 分改为 15 分"
    assert words["rules.filial.once"] == "孝老爱亲：由每季度只计一次改为每年只计一次"
    assert words["rules.lavish_banquet"] == "规则编号由 banquet 改为 lavish_banquet（大操大办，内容未变）"
    assert words["categories.乡风文明.limit"] == "类别 乡风文明：每月上限由 12 分改为 15 分"
    assert words["checklists.allowance.procedures.allowance.steps.order"] == (
        "低保申请／低保申请程序：步骤顺序由 申请→入户调查→民主评议→公示→上报 改为 "
        "申请→民主评议→入户调查→公示→上报")
    assert words["checklists.payment.procedures.payment.steps.财务公开.within"] == (
        "村级财务支出／财务支出程序：步骤“财务公开”的期限由 “审批”后 30 日内 改为 “审批”后 15 日内")
    assert words["checklists.certificate.procedures.certificate.steps.审核"] == (
        "证明开具／证明开具程序：新增步骤“审核”（在“申请”之后）")
    assert words["metadata.version"] == "版本由 2024.1 改为 2024.2"


def test_changes_are_worded_in_english():
    d = diff_files(V1, V2)
    words = {c.path: c.message("en") for c in d.changes}
    assert words["rules.volunteer.limit"] == "志愿服务: limit per month changed from 10 to 8 points"
    assert words["rules.labour.points"] == "义务投工投劳: points changed from 3 * quantity to 4 * quantity"
    assert words["rules.meeting.when"] == ('参加坝坝会: condition changed from activity == "参加坝坝会" '
                                           'to activity in ["参加坝坝会", "参加院坝会"]')
    assert words["metadata.effective.from"] == "effective from changed from 2024-01-01 to 2024-04-01"


def test_expression_spelling_and_aliases_are_not_changes():
    """v2 writes `2*quantity`, `activity == ...`, `and`, and reorders the lookup: none of it
    is reported (volunteer's only change is its cap; courtyard is not mentioned)."""
    d = diff_files(V1, V2)
    assert [c.path for c in d.changes if c.rule == "volunteer"] == ["rules.volunteer.limit"]
    assert not [c for c in d.changes if c.rule in ("courtyard", "volunteer_long")]


def test_identical_rules_in_another_order_and_spelling_are_equivalent(tmp_path):
    new = variant(
        tmp_path,
        ("""  - id: volunteer_long
    name: 志愿服务满4小时加分
    category: 乡风文明
    when: 事项 == "志愿服务" 且 数量 >= 4
    points: 2
""", ""),
        ("""  - id: banquet
""", """  - id: volunteer_long
    name: 志愿服务满4小时加分
    category: 乡风文明
    when: 'activity=="志愿服务" and quantity>=4'
    points: 2

  - id: banquet
"""),
        ("points: 2 × 数量", "points: (2 * quantity)"),
        ("""  - id: 乡风文明
    limit: {max: 12, per: month}
  - id: 人居环境""", """  - id: 人居环境
  - id: 乡风文明
    limit: {per: month, max: 12.0}"""),
        ("""\n  - id: seal\n""", """\n  - id: seal  # 用印\n"""),
    )
    d = diff_files(V1, new)
    assert d.changes == []
    assert d.equivalent
    assert canonical_text(load_ruleset(V1)) == canonical_text(load_ruleset(new))


def test_rule_order_matters_only_when_first_match_counts(tmp_path):
    swap = (("""  - id: volunteer_long
    name: 志愿服务满4小时加分
    category: 乡风文明
    when: 事项 == "志愿服务" 且 数量 >= 4
    points: 2

""", ""), ("""  - id: volunteer
""", """  - id: volunteer_long
    name: 志愿服务满4小时加分
    category: 乡风文明
    when: 事项 == "志愿服务" 且 数量 >= 4
    points: 2

  - id: volunteer
"""))
    first = ("matching: all", "matching: first")
    old_first = variant(tmp_path, first, name="old.yaml")
    new_first = variant(tmp_path, first, *swap, name="new.yaml")
    d = diff_files(old_first, new_first)
    assert kinds(d) == [("changed", "rules.order")]
    change = d.changes[0]
    assert change.old[:2] == ["volunteer", "volunteer_long"]
    assert change.new[:2] == ["volunteer_long", "volunteer"]
    assert change.message("zh").startswith("规则顺序改变（只计第一条适用的规则，顺序会改变结果）：志愿服务 → 志愿服务满4小时加分")
    all_new = variant(tmp_path, *swap, name="all.yaml")
    assert diff_files(V1, all_new).equivalent


def test_rename_with_a_new_name_too(tmp_path):
    new = variant(tmp_path, ("""  - id: straw
    name: 焚烧秸秆""", """  - id: burning
    name: 露天焚烧秸秆"""))
    d = diff_files(V1, new)
    assert kinds(d) == [("renamed", "rules.burning"), ("changed", "rules.burning.name")]
    assert d.changes[1].message("zh") == "规则 burning：名称由“焚烧秸秆”改为“露天焚烧秸秆”"


def test_a_field_rename_is_one_change_and_expressions_follow_it(tmp_path):
    new = variant(tmp_path, ("  - id: quantity\n    label: 数量", "  - id: qty\n    label: 数量"))
    d = diff_files(V1, new)
    assert kinds(d) == [("renamed", "fields.qty")]
    assert d.changes[0].message("zh") == "记录字段“数量”的编号由 quantity 改为 qty（内容未变）"


def test_a_category_rename_moves_its_rules_without_rule_changes(tmp_path):
    new = variant(tmp_path, ("  - id: 移风易俗\n", "  - id: 移风易俗新风\n"),
                  ("    category: 移风易俗\n", "    category: 移风易俗新风\n"))
    d = diff_files(V1, new)
    assert kinds(d) == [("renamed", "categories.移风易俗新风")]


def test_limits_added_removed_and_changed_in_period(tmp_path):
    new = variant(
        tmp_path,
        ("""    points: -10

  - id: filial""", """    points: -10
    deduction_limit: {max: 30, per: year}

  - id: filial"""),
        ("""    points: 1
    limit: {max: 3, per: month}""", """    points: 1"""),
        ("""    points: 3 × 数量
    limit: {max: 12, per: month}""", """    points: 3 × 数量
    limit: {max: 30, per: quarter}"""),
        ("""    points: 5
    once: quarter""", """    points: 5"""),
        ("""    points: -10

boards""", """    points: -10
    veto: year

boards"""),
    )
    d = diff_files(V1, new)
    words = {c.path: (c.kind, c.message("zh")) for c in d.changes}
    assert words == {
        "rules.straw.deduction_limit": ("added", "焚烧秸秆：新增扣分上限，每年最多扣 30 分"),
        "rules.meeting.limit": ("removed", "参加坝坝会：取消上限（原为每月最多 3 分）"),
        "rules.labour.limit": ("changed", "义务投工投劳：上限由每月最多 12 分改为每季度最多 30 分"),
        "rules.filial.once": ("removed", "孝老爱亲：取消次数限制（原为每季度只计一次）"),
        "rules.banquet.veto": ("added", "大操大办：新增一票否决，一票否决（当年）"),
    }
    cap = by_path(d, "rules.labour.limit")
    assert cap.old == {"max": Decimal(12), "per": "month"}
    assert cap.new == {"max": Decimal(30), "per": "quarter"}


def test_settings_and_new_positive_item(tmp_path):
    new = variant(
        tmp_path,
        ("unit: household\nmatching: all", "unit: household\nmatching: first"),
        ("  red: 5\n", "  red: 10\n"),
        ("""boards:""", """  - id: tree
    name: 义务植树
    category: 乡风文明
    when: 事项 == "义务植树"
    points: 3
    limit: {max: 6, per: month}

boards:"""),
    )
    d = diff_files(V1, new)
    words = {c.path: c.message("zh") for c in d.changes}
    assert words["rules.tree"] == "新增加分项：义务植树 3 分，每月最多 6 分（类别 乡风文明；条件：事项 == \"义务植树\"）"
    assert words["matching"] == "计分方式由“适用的规则都计分”改为“只计第一条适用的规则”"
    assert words["boards.red_size"] == "红榜名额（名次）由 5 改为 10"
    assert by_path(d, "matching").section == "settings"


def test_step_meeting_and_not_before_changes(tmp_path):
    new = variant(
        tmp_path,
        ("meeting: {quorum: 2/3, majority: 1/2}", "meeting: {quorum: 1/2, majority: 1/2}"),
        ("not_before: {days: 7, after: 公示}", "not_before: {days: 5, after: 公示}"),
        ("          - 用印登记\n", ""),
    )
    d = diff_files(V1, new)
    words = [c.message("zh") for c in d.changes]
    assert words == [
        "低保申请／低保申请程序：步骤“民主评议”的会议要求由 到会不少于 2/3、赞成超过 1/2 改为 到会不少于 1/2、赞成超过 1/2",
        "低保申请／低保申请程序：步骤“上报”的最早时间由 “公示”满 7 日后 改为 “公示”满 5 日后",
        "村级印章使用／用印程序：删除步骤“用印登记”",
    ]


def test_checklist_item_rename(tmp_path):
    new = variant(tmp_path, ("\n  - id: seal\n", "\n  - id: village_seal\n"))
    d = diff_files(V1, new)
    assert kinds(d) == [("renamed", "checklists.village_seal")]


# --------------------------------------------------------------------------------------------
# Invalid files, templates, output formats


def test_an_invalid_file_gives_every_error_and_no_diff(tmp_path):
    bad_old = variant(tmp_path, ("category: 遵纪守法\n    when: 事项 == \"焚烧秸秆\"",
                                 "category: 遵纪守法\n    when: 事项 == "), name="old.yaml")
    bad_new = variant(tmp_path, ("    category: 孝老爱亲\n", "    category: 孝老\n"), name="new.yaml")
    with pytest.raises(XiangyueError) as info:
        diff_files(bad_old, bad_new)
    err = info.value
    assert err.kind == "unusable"
    files = {Path(d.file).name for d in err.diagnostics}
    assert files == {"old.yaml", "new.yaml"}
    cat = next(d for d in err.diagnostics if d.code == "E-RULE-CATEGORY")
    assert cat.line == V1_TEXT.splitlines().index("    category: 孝老爱亲") + 1


def test_diff_of_template_and_village_is_of_effective_files():
    d = diff_files(str(REVIEW.parent.parent / "rulesets/templates/jiangyang-county.yaml"),
                   str(REVIEW.parent.parent / "rulesets/examples/fenglong.yaml"))
    rules = [(c.kind, c.path) for c in d.changes if c.section == "rules"]
    assert rules == [("removed", "rules.banquet"), ("changed", "rules.volunteer.limit"),
                     ("added", "rules.rubble")]


def test_json_shape():
    d = diff_files(V1, V2)
    data = json.loads(render(d, "json"), parse_float=Decimal)
    assert data["equivalent"] is False
    assert data["old"]["version"] == "2024.1" and data["new"]["version"] == "2024.2"
    cap = next(c for c in data["changes"] if c["path"] == "rules.volunteer.limit")
    assert cap == {"kind": "changed", "section": "rules", "path": "rules.volunteer.limit",
                   "rule": "volunteer", "old": {"max": 10, "per": "month"},
                   "new": {"max": 8, "per": "month"}, "message": "志愿服务：每月上限由 10 分改为 8 分",
                   "metadata": False, "old_at": f"{V1}:49", "new_at": f"{V2}:58"}
    points = next(c for c in data["changes"] if c["path"] == "rules.labour.points")
    assert (points["old"], points["new"]) == ("3 × 数量", "4 × 数量")
    en = json.loads(render(d, "json", lang="en"))
    points = next(c for c in en["changes"] if c["path"] == "rules.labour.points")
    assert (points["old"], points["new"]) == ("3 * quantity", "4 * quantity")
    version = next(c for c in data["changes"] if c["path"] == "metadata.version")
    assert version["metadata"] is True


def test_text_and_markdown_list_metadata_apart():
    d = diff_files(V1, V2)
    text = render(d, "text")
    assert "积分规则（8 处）\n  - 删除扣分项：焚烧秸秆（straw）\n" in text
    assert text.index("版本信息（版本、日期、表决）（5 处）") > text.index("记录字段（1 处）")
    assert text.rstrip().endswith("共 20 处变化（规则 15 处，版本信息 5 处）")
    md = render(d, "markdown")
    assert md.startswith("# 规则修订审查：东风村 东风村积分制管理细则\n")
    assert "## 积分规则\n\n- 删除扣分项：焚烧秸秆（straw）\n" in md
    assert "\n- 志愿服务：每月上限由 10 分改为 8 分\n" in md
    assert "## 版本信息（版本、日期、表决）" in md
    en = render(d, "markdown", lang="en")
    assert "\n- 志愿服务: limit per month changed from 10 to 8 points\n" in en


def test_equivalent_files_say_so():
    old, new = load_pair(V1, V1)
    d = diff_rulesets(old, new)
    assert d.equivalent
    assert "两个版本等价：没有变化" in render(d, "text")
    assert "The two versions are equivalent" in render(d, "text", lang="en")


def test_selections_stars_and_market_of_the_reference_file(tmp_path):
    jingou = REVIEW.parent.parent / "rulesets" / "examples" / "jingou.yaml"
    text = jingou.read_text(encoding="utf-8")
    same = tmp_path / "same.yaml"
    same.write_text(text.replace("      - 计数(事项 == \"庭院检查\" 且 等级 == \"优\") >= 9\n      - 总分 >= 60",
                                 "      - total >= 60\n      - count(activity == \"庭院检查\" and grade == \"优\") >= 9"),
                    encoding="utf-8")
    assert diff_files(str(jingou), str(same)).equivalent
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace("      - 总分 >= 60", "      - 总分 >= 70")
                       .replace("{id: soap, name: 肥皂, price: 5}", "{id: soap, name: 肥皂, price: 6}")
                       .replace("{stars: 3, min: 60, name: 三星文明户}", "{stars: 3, min: 70, name: 三星文明户}"),
                       encoding="utf-8")
    d = diff_files(str(jingou), str(changed))
    words = {c.path: c.message("zh") for c in d.changes}
    assert set(words) == {"selections.beautiful_courtyard.criteria", "stars", "market.goods.soap"}
    assert words["market.goods.soap"] == "积分超市：“肥皂”由 5 分改为“肥皂” 6 分"
    assert words["stars"] == "星级标准由 1星≥20、2星≥40、3星≥60 改为 1星≥20、2星≥40、3星≥70"
    assert words["selections.beautiful_courtyard.criteria"] == (
        "评选 美丽庭院：评选条件由 计数(事项 == \"庭院检查\" 且 等级 == \"优\") ≥ 9、总分 ≥ 60 改为 "
        "计数(事项 == \"庭院检查\" 且 等级 == \"优\") ≥ 9、总分 ≥ 70")


def test_a_rename_is_diffed_even_when_the_examples_still_use_the_old_id(tmp_path):
    from xiangyue.review.diff import diff_files

    root = Path(__file__).parent.parent
    old = (root / "rulesets" / "examples" / "jingou.yaml").read_text(encoding="utf-8")
    new = old.replace("  - id: filial\n", "  - id: filial_care\n", 1)
    assert new != old
    (tmp_path / "old.yaml").write_text(old, encoding="utf-8")
    (tmp_path / "new.yaml").write_text(new, encoding="utf-8")
    d = diff_files(str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"))
    assert [(c.kind, c.path) for c in d.changes] == [("renamed", "rules.filial_care")]
