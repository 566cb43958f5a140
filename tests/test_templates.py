"""Templates: a county template that villages extend (``extends:``, ``remove:``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xiangyue.errors import RulesetError, XiangyueError
from xiangyue.rules.pipeline import load_effective, load_ruleset

ROOT = Path(__file__).parent.parent
COUNTY = ROOT / "rulesets" / "templates" / "jiangyang-county.yaml"
FENGLONG = ROOT / "rulesets" / "examples" / "fenglong.yaml"

TEMPLATE = """\
xiangyue: 1
county: 江阳区
name: 区级模板
version: "1"
fields:
  - {id: activity, label: 事项, type: text, required: true}
  - {id: quantity, label: 数量, type: decimal, default: 1, min: 0}
categories:
  - id: 乡风文明
  - id: 人居环境
rules:
  - id: volunteer
    name: 志愿服务
    category: 乡风文明
    when: 事项 == "志愿服务"
    points: 2 × 数量
    limit: {max: 10, per: month}
  - id: litter
    name: 乱扔垃圾
    category: 人居环境
    when: 事项 == "乱扔垃圾"
    points: -5
  - id: meeting
    name: 参加坝坝会
    category: 乡风文明
    when: 事项 == "参加坝坝会"
    points: 1
checklists:
  - id: certificate
    name: 证明开具
    list: 公共服务事项清单
    procedures:
      - steps: [申请, 出具]
  - id: seal
    name: 用印
    list: 村级小微权力清单
    procedures:
      - steps: [申请, 用印]
examples:
  - name: 模板自己的算例
    records: [{记录编号: R1, 户号: H1, 日期: 2024-03-01, 事项: 志愿服务}]
    expect: {totals: {H1: 2}}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def village(tmp_path: Path, body: str, template: str = TEMPLATE) -> Path:
    write(tmp_path, "templates/county.yaml", template)
    return write(tmp_path, "villages/v.yaml",
                 "extends: ../templates/county.yaml\nvillage: 测试村\nname: 测试村细则\n" + body)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_village_without_changes_gets_the_template(tmp_path):
    rs = load_ruleset(village(tmp_path, ""))
    assert [r.id for r in rs.rules] == ["volunteer", "litter", "meeting"]
    assert [i.id for i in rs.checklists] == ["certificate", "seal"]
    assert rs.village == "测试村"
    assert [Path(f).name for f in rs.extends] == ["county.yaml"]


def test_override_a_rule_in_place(tmp_path):
    path = village(tmp_path, """\
rules:
  - id: volunteer
    name: 志愿服务
    category: 乡风文明
    when: 事项 == "志愿服务"
    points: 3 × 数量
    limit: {max: 8, per: month}
""")
    rs = load_ruleset(path)
    assert [r.id for r in rs.rules] == ["volunteer", "litter", "meeting"]  # replaced in place
    vol = rs.rule("volunteer")
    assert vol.limit[0].max == 8
    assert vol.pos.file.endswith("villages/v.yaml")  # the village wrote it
    assert rs.rule("litter").pos.file.endswith("templates/county.yaml")


def test_add_a_rule_after_the_templates(tmp_path):
    path = village(tmp_path, """\
rules:
  - id: rubble
    name: 乱倒建筑垃圾
    category: 人居环境
    when: 事项 == "乱倒建筑垃圾"
    points: -10
""")
    rs = load_ruleset(path)
    assert [r.id for r in rs.rules] == ["volunteer", "litter", "meeting", "rubble"]
    assert rs.rule("rubble").index == 3


def test_remove_a_rule_and_an_item(tmp_path):
    path = village(tmp_path, "remove:\n  rules: [litter]\n  checklists: [seal]\n")
    rs = load_ruleset(path)
    assert [r.id for r in rs.rules] == ["volunteer", "meeting"]
    assert [i.id for i in rs.checklists] == ["certificate"]
    # positions still right after the removal shifted the list
    text = TEMPLATE
    assert rs.rule("meeting").pos.line == line_of(text, "id: meeting")


def test_remove_an_unknown_id_points_at_it(tmp_path):
    path = village(tmp_path, "remove:\n  rules: [liter]\n")
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    d = info.value.diagnostics[0]
    assert d.code == "E-TEMPLATE-REMOVE"
    assert d.file.endswith("villages/v.yaml") and d.line == 5
    assert "litter" in d.hint("zh")


def test_remove_from_a_section_the_template_lacks_is_reported(tmp_path):
    path = village(tmp_path, "remove:\n  selections: [beautiful]\n")
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    assert [d.code for d in info.value.diagnostics] == ["E-TEMPLATE-REMOVE"]


def test_top_level_keys_come_from_the_village_and_examples_are_not_inherited(tmp_path):
    path = village(tmp_path, 'version: "2024.3"\n')
    rs = load_ruleset(path)
    assert rs.version == "2024.3" and rs.name == "测试村细则"
    assert rs.raw["county"] == "江阳区"
    assert rs.examples == ()


def test_a_chain_of_templates(tmp_path):
    write(tmp_path, "templates/city.yaml", TEMPLATE)
    write(tmp_path, "templates/county.yaml", """\
extends: city.yaml
remove:
  rules: [meeting]
rules:
  - id: straw
    name: 焚烧秸秆
    category: 人居环境
    when: 事项 == "焚烧秸秆"
    points: -10
""")
    path = write(tmp_path, "v.yaml", "extends: templates/county.yaml\nvillage: 链村\n")
    rs = load_ruleset(path)
    assert [r.id for r in rs.rules] == ["volunteer", "litter", "straw"]
    assert [Path(f).name for f in rs.extends] == ["city.yaml", "county.yaml"]


def test_a_cycle_is_an_error_at_the_extends_line(tmp_path):
    write(tmp_path, "a.yaml", "xiangyue: 1\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "xiangyue: 1\nextends: a.yaml\n")
    with pytest.raises(RulesetError) as info:
        load_ruleset(tmp_path / "a.yaml")
    d = info.value.diagnostics[0]
    assert d.code == "E-TEMPLATE-CYCLE"
    assert Path(d.file).name == "b.yaml" and (d.line, d.column) == (2, 10)
    assert d.message("zh") == "模板循环引用：a.yaml → b.yaml → a.yaml"


def test_a_file_extending_itself_is_a_cycle(tmp_path):
    write(tmp_path, "a.yaml", "extends: a.yaml\n")
    with pytest.raises(RulesetError) as info:
        load_ruleset(tmp_path / "a.yaml")
    assert info.value.diagnostics[0].code == "E-TEMPLATE-CYCLE"


def test_a_missing_template(tmp_path):
    path = write(tmp_path, "v.yaml", "xiangyue: 1\nvillage: 村\nextends: ../templates/nowhere.yaml\n")
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    d = info.value.diagnostics[0]
    assert (d.code, d.line, d.column) == ("E-TEMPLATE-MISSING", 3, 10)
    assert d.message("en") == "template file '../templates/nowhere.yaml' not found"


def test_an_error_inside_the_template_points_into_the_template(tmp_path):
    broken = TEMPLATE.replace('points: -5', 'points: -5 ×')
    path = village(tmp_path, "", template=broken)
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    d = info.value.diagnostics[0]
    assert d.file.endswith("templates/county.yaml")
    assert d.line == line_of(broken, "points: -5 ×")
    assert d.source_line == "    points: -5 ×"


def test_a_schema_error_inside_the_template_points_into_the_template(tmp_path):
    broken = TEMPLATE.replace("limit: {max: 10, per: month}", "limit: {max: 10, per: fortnight}")
    path = village(tmp_path, "", template=broken)
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    d = info.value.diagnostics[0]
    assert d.code == "E-SCHEMA-ENUM" and d.file.endswith("templates/county.yaml")
    assert d.line == line_of(broken, "per: fortnight")


def test_an_error_in_the_village_points_into_the_village(tmp_path):
    body = """\
rules:
  - id: rubble
    name: 乱倒建筑垃圾
    category: 人居环境类
    when: 事项 == "乱倒建筑垃圾"
    points: -10
"""
    path = village(tmp_path, body)
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    d = info.value.diagnostics[0]
    assert d.code == "E-RULE-CATEGORY"
    assert d.file.endswith("villages/v.yaml")
    assert d.line == 3 + line_of(body, "category: 人居环境类")
    assert d.source_line == "    category: 人居环境类"


def test_a_village_rule_using_a_template_field_by_its_label(tmp_path):
    path = village(tmp_path, """\
fields:
  - {id: hours, label: 时长, type: decimal}
rules:
  - id: training
    name: 参加培训
    category: 乡风文明
    when: 事项 == "参加培训" 且 数量 >= 1
    points: 时长
""")
    rs = load_ruleset(path)
    assert [f.id for f in rs.fields][-3:] == ["activity", "quantity", "hours"]


def test_shipped_template_and_village():
    eff = load_effective(FENGLONG)
    assert [Path(d.file).name for d in eff.docs] == ["jiangyang-county.yaml", "fenglong.yaml"]
    rs = load_ruleset(FENGLONG)
    ids = [r.id for r in rs.rules]
    assert "banquet" not in ids and ids[-1] == "rubble"
    assert rs.rule("volunteer").limit[0].max == 8
    assert rs.rule("labour").pos.file.endswith("jiangyang-county.yaml")
    assert [i.id for i in rs.checklists] == ["certificate"]
    assert len(rs.examples) == 3


def test_the_template_alone_is_a_valid_rule_file():
    try:
        rs = load_ruleset(COUNTY)
    except XiangyueError as err:  # pragma: no cover - shows the diagnostics if it fails
        pytest.fail(str(err))
    assert len(rs.rules) == 8
