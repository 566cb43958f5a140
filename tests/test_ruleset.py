"""The rule-file pipeline: structure, expressions and static checks, all errors at once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue.errors import RulesetError, format_diagnostic
from xiangyue.rules.pipeline import load_ruleset

HERE = Path(__file__).parent
ROOT = HERE.parent

HEADER = """\
xiangyue: 1
village: 测试村
name: 测试细则
version: "1"
fields:
  - {id: activity, label: 事项, type: text, required: true}
  - {id: quantity, label: 数量, type: decimal, default: 1, min: 0}
  - {id: grade, label: 等级, type: text, values: [优, 良, 差]}
categories:
  - id: 乡风文明
    limit: {max: 12, per: month}
  - id: 人居环境
"""


def write(tmp_path: Path, body: str, name: str = "rules.yaml") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return p


def errors(path: Path) -> list[tuple[str, int, int | str]]:
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    return [(d.code, d.line, d.column) for d in info.value.diagnostics]


def test_reference_rule_file_loads_with_every_rule_in_file_order():
    rs = load_ruleset(HERE / "rulesets" / "jingou.yaml")
    assert [r.id for r in rs.rules] == ["volunteer", "volunteer_long", "labour", "meeting", "courtyard", "sorting",
                                        "litter", "straw", "fishing", "honour", "filial", "frugal", "banquet"]
    assert rs.village == "金钩村" and rs.version == "2024.1"
    assert rs.category("乡风文明").limit[0].max == 12
    volunteer = rs.rule("volunteer")
    assert (volunteer.limit[0].max, volunteer.limit[0].per) == (10, "month")
    assert volunteer.points_fn({"quantity": Decimal("1.5")}) == 3
    assert rs.rule("litter").deduction_limit[0].max == 20
    assert rs.rule("courtyard").once == "month" and rs.rule("filial").once == "quarter"
    assert rs.rule("frugal").once == "year" and rs.rule("fishing").veto == "year"
    assert [rs.rule("honour").points_fn({"level": lv}) for lv in ("县级", "市级", "省级", "国家级")] == [10, 15, 20, 30]
    decision = rs.item("村级重大事项决策")
    assert decision.id == "major_decision"
    big, small = decision.procedures
    assert big.when_fn({"amount": Decimal(50000)}) and not small.when_fn({"amount": Decimal(50000)})
    assert [s.name for s in big.steps] == ["提议", "商议", "审议", "决议", "决议公开", "实施", "结果公开"]
    assert big.step("决议").meeting.quorum == pytest.approx(2 / 3)
    assert big.step("决议公开").within.days == 7
    assert rs.item("allowance").procedures[0].step("上报").not_before.days == 7
    assert len(rs.sha256) == 64


def test_every_sample_file_is_valid():
    for path in sorted((ROOT / "rulesets" / "examples").glob("*.yaml")):
        rs = load_ruleset(path)
        assert [w for w in rs.warnings if w.severity == "error"] == [], path


def test_all_errors_of_a_file_are_reported_together_sorted(tmp_path):
    p = write(tmp_path, """\
        rules:
          - id: volunteer
            name: 志愿服务
            category: 乡风文明x
            when: 事项 == 志愿服务
            points: 2 × 数目
          - id: volunteer
            category: 乡风文明
            when: 等级 == "特优"
            points: 1
        """)
    assert errors(p) == [
        ("E-RULE-CATEGORY", 16, 15),
        ("E-EXPR-NAME", 17, 17),
        ("E-EXPR-NAME", 18, 17),
        ("E-DUP-ID", 19, 9),
        ("E-EXPR-VALUE", 21, 17),
    ]


def test_messages_and_hints_as_the_author_sees_them(tmp_path):
    p = write(tmp_path, """\
        rules:
          - id: volunteer
            category: 乡风文明
            when: 事项 == 志愿服务
            points: 2
        """)
    with pytest.raises(RulesetError) as info:
        load_ruleset(p)
    text = format_diagnostic(info.value.diagnostics[0], "zh")
    assert text == (
        f"{p}:16:17: E-EXPR-NAME: 未知的字段“志愿服务”\n"
        "        when: 事项 == 志愿服务\n"
        "                      ^^^^^^^^\n"
        '    提示: 要表示文字“志愿服务”，请加引号："志愿服务"'
    )
    english = format_diagnostic(info.value.diagnostics[0], "en").splitlines()
    assert english[0] == f"{p}:16:17: E-EXPR-NAME: unknown field '志愿服务'"
    assert english[-1] == '    hint: to mean the text 志愿服务, put it in quotes: "志愿服务"'


def test_structure_errors_point_at_the_key_with_did_you_mean(tmp_path):
    p = write(tmp_path, """\
        rules:
          - id: a
            category: 乡风文明
            when: 事项 == "a"
            point: 2
            limit: {max: 10, per: mnth}
        """)
    with pytest.raises(RulesetError) as info:
        load_ruleset(p)
    got = [(d.code, d.line, d.column, d.hint("zh")) for d in info.value.diagnostics]
    assert got == [
        ("E-SCHEMA-UNKNOWN-KEY", 17, 5, "是不是：points？"),
        ("E-SCHEMA-ENUM", 18, 27, "是不是：month？"),
    ]


def test_yaml_11_surprises_keep_the_text(tmp_path):
    p = write(tmp_path, """\
        effective: {from: 2024-02-30}
        rules:
          - id: a
            category: 乡风文明
            when: 事项 == "a"
            points: 2
            once: no
        """)
    assert errors(p) == [("E-DATE", 13, 19), ("E-SCHEMA-ENUM", 19, 11)]
    p2 = write(tmp_path, """\
        effective: {from: 2024-02-30}
        rules: []
        """, "b.yaml")
    assert errors(p2) == [("E-DATE", 13, 19)]


def test_numbers_written_as_text_are_refused(tmp_path):
    p = write(tmp_path, """\
        rules:
          - id: a
            category: 乡风文明
            when: 事项 == "a"
            points: 2
            limit: {max: "10", per: month}
        """)
    assert errors(p) == [("E-SCHEMA-TYPE", 18, 18)]


def test_rule_level_static_checks(tmp_path):
    p = write(tmp_path, """\
        rules:
          - id: a
            category: 乡风文明
            when: 事项 == "a"
          - id: b
            category: 乡风文明
            points: 1
          - id: c
            category: 乡风文明
            when: 事项 == "c"
            points: 1
            escalation: {per: year, steps: [-8, -15]}
            once: month
          - id: d
            category: 乡风文明
            when: 数量 + 1
            points: 事项 == "d"
        """)
    assert errors(p) == [
        ("E-RULE-NO-POINTS", 14, 9),
        ("E-RULE-NO-WHEN", 17, 9),
        ("E-RULE-POINTS-AND-ESCALATION", 23, 5),
        ("E-RULE-ONCE-ESCALATION", 25, 5),
        ("E-EXPR-RESULT", 28, 14),
        ("E-EXPR-RESULT", 29, 16),
    ]


def test_limits_that_make_no_sense_are_warnings(tmp_path):
    p = write(tmp_path, """\
        rules:
          - id: litter
            category: 人居环境
            when: 事项 == "乱扔垃圾"
            points: -5
            limit: {max: 20, per: month}
        """)
    rs = load_ruleset(p)
    assert [(w.code, w.line) for w in rs.warnings] == [("W-RULE-CAP-SIGN", 18)]
    assert "扣分" in rs.warnings[0].message("zh")


def test_checklist_static_checks(tmp_path):
    p = write(tmp_path, """\
        checklists:
          - id: x
            name: 事项甲
            procedures:
              - steps:
                  - 提议
                  - name: 公开
                    within: {days: 7, after: 决议}
                  - name: 实施
                    within: {days: 7, after: 实施}
                  - name: 表决
                    meeting: {quorum: 3/2, majority: 1/2}
                  - 提议
        """)
    assert errors(p) == [
        ("E-STEP-AFTER", 20, 38),
        ("E-STEP-AFTER", 22, 38),
        ("E-FRACTION", 24, 31),
        ("E-DUP-ID", 25, 13),
    ]


def test_examples_are_checked(tmp_path):
    p = write(tmp_path, """\
        rules:
          - id: a
            category: 乡风文明
            when: 事项 == "a"
            points: 2
        examples:
          - name: 算例
            period: 2024-13
            records:
              - {record_id: R1, household: H1, date: 2024-03-01, activty: a}
            expect:
              by_rule: {H1: {b: 2}}
        """)
    assert errors(p) == [("E-EXAMPLE-PERIOD", 20, 13), ("E-EXAMPLE-COLUMN", 22, 58), ("E-EXAMPLE-RULE", 24, 22)]


def test_fields_checks(tmp_path):
    p = tmp_path / "f.yaml"
    p.write_text(textwrap.dedent("""\
        xiangyue: 1
        fields:
          - {id: date, type: date}
          - {id: n, label: 数量, type: integer, values: [1, 2]}
          - {id: m, label: 数量, type: decimal, default: abc, min: 5, max: 1}
        """), encoding="utf-8")
    assert errors(p) == [
        ("E-FIELD-BUILTIN", 3, 10),
        ("E-FIELD-VALUES", 4, 47),
        ("E-FIELD-NAME", 5, 5),
        ("E-FIELD-DEFAULT", 5, 48),
        ("E-FIELD-RANGE", 5, 58),
    ]
    p.write_text("xiangyue: 1\nfields:\n  - {id: 数量, type: text}\n", encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        load_ruleset(p)
    (d,) = info.value.diagnostics
    assert (d.code, d.line, d.column) == ("E-SCHEMA-PATTERN", 3, 10)
    assert d.hint("zh") == "字段编号只用英文字母、数字和下划线，例如 quantity；中文名写在 label"


def test_bad_yaml_never_raises_a_traceback_and_is_fast(tmp_path):
    bombs = {
        "alias.yaml": "a: &a [1,2]\nb: *a\n",
        "deep.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "tag.yaml": "a: !!python/object/apply:os.system ['echo hi']\n",
        "tabs.yaml": "rules:\n\t- id: a\n",
        "fullwidth.yaml": "名称：金钩村\n",
        "empty.yaml": "",
        "two.yaml": "a: 1\n---\nb: 2\n",
        "list.yaml": "- 1\n- 2\n",
    }
    for name, text in bombs.items():
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        with pytest.raises(RulesetError) as info:
            load_ruleset(p)
        assert info.value.diagnostics and all(d.line >= 1 for d in info.value.diagnostics), name


def test_schema_file_matches_its_generator():
    generated = subprocess.run([sys.executable, str(ROOT / "schemas" / "make_schema.py"), "--print"],
                               capture_output=True, text=True, check=True).stdout
    committed = (ROOT / "schemas" / "ruleset.schema.json").read_text(encoding="utf-8")
    assert json.loads(generated) == json.loads(committed)


def test_schema_knows_every_key_the_loader_reads():
    """The schema is the single source of truth: every key in the reference file is declared."""
    from xiangyue.rules.schema import ruleset_schema

    schema = ruleset_schema()
    rule_keys = set(schema["properties"]["rules"]["items"]["properties"])
    assert {"id", "name", "category", "when", "points", "limit", "deduction_limit", "once", "escalation",
            "highest_only", "veto"} <= rule_keys
    assert {"village", "name", "version", "effective", "adopted", "unit", "matching", "fields", "categories",
            "rules", "base", "checklists", "boards", "selections", "stars", "market", "examples",
            "extends", "remove"} <= set(schema["properties"])


def test_a_structural_error_does_not_hide_the_other_errors_of_the_same_rule(tmp_path):
    p = write(tmp_path, """\
        rules:
          - id: c
            category: 乡风文明
            when: 数量 > "abc"
            points: 1
            limit: {max: -5, per: month}
        """)
    assert errors(p) == [("E-EXPR-TYPE", 16, 14), ("E-SCHEMA-RANGE", 18, 18)]


def test_one_misspelt_section_gives_one_error(tmp_path):
    p = tmp_path / "typo.yaml"
    p.write_text(textwrap.dedent("""\
        xiangyue: 1
        fields:
          - {id: activity, label: 事项, type: text}
        categorys:
          - id: 乡风文明
        rules:
          - {id: a, category: 乡风文明, when: 事项 == "a", points: 1}
          - {id: b, category: 乡风文明, when: 事项 == "b", points: 1}
        """), encoding="utf-8")
    assert errors(p) == [("E-SCHEMA-UNKNOWN-KEY", 4, 1)]


def test_an_unknown_field_type_is_an_error_with_the_others(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text(textwrap.dedent("""\
        xiangyue: 1
        fields:
          - {id: activity, label: 事项, type: txt}
        categories:
          - id: 乡风文明
            limit: {max: 12, per: 旬}
        rules:
          - {id: a, category: 不存在类, when: 事项 == "a", points: 1}
          - {id: b, category: 乡风文明, when: 事项 == "b", points: 1, cap: {max: 3, per: month}}
        """), encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        load_ruleset(p)
    got = [(d.code, d.line, d.hint("zh")) for d in info.value.diagnostics]
    assert got == [
        ("E-SCHEMA-ENUM", 3, "是不是：text？"),
        ("E-SCHEMA-ENUM", 6, None),  # the message lists day, week, month, …
        ("E-RULE-CATEGORY", 8, "在 categories 中加上它"),
        ("E-SCHEMA-UNKNOWN-KEY", 9, "现在写作 limit"),
    ]


def test_a_rule_file_found_valid_is_not_validated_again_but_any_change_is(tmp_path, monkeypatch):
    """The structure of a rule file found valid is remembered by its content in the user's
    private cache folder (a command loading it again does not import jsonschema); a changed
    file is validated again, and nothing is remembered with XIANGYUE_NO_CACHE."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("XIANGYUE_NO_CACHE", raising=False)
    rules = tmp_path / "r.yaml"
    rules.write_text((ROOT / "rulesets" / "examples" / "jingou.yaml").read_text(encoding="utf-8"),
                     encoding="utf-8")
    probe = ("import sys\nfrom xiangyue.rules.pipeline import load_ruleset\n"
             "rs = load_ruleset(sys.argv[1])\n"
             "print(len(rs.rules), rs.sha256, 'jsonschema' in sys.modules)\n")

    def load() -> list[str]:
        done = subprocess.run([sys.executable, "-c", probe, str(rules)], capture_output=True,
                              text=True, check=True)
        return done.stdout.split()

    first, again = load(), load()
    assert first[2] == "True" and again == first[:2] + ["False"]  # the same rule file
    assert len(list((tmp_path / "cache" / "xiangyue").glob("valid-*/*"))) == 1
    # one key misspelled: validated again, and the mistake reported
    rules.write_text(rules.read_text(encoding="utf-8").replace("village:", "vilage:", 1),
                     encoding="utf-8")
    with pytest.raises(RulesetError) as err:
        load_ruleset(rules)
    assert any(d.code.startswith("E-SCHEMA") for d in err.value.diagnostics)
    monkeypatch.setenv("XIANGYUE_NO_CACHE", "1")
    rules.write_text(rules.read_text(encoding="utf-8").replace("vilage:", "village:", 1)
                     .replace("金钩村", "银钩村"), encoding="utf-8")
    assert load()[2] == "True" and load()[2] == "True"
    assert len(list((tmp_path / "cache" / "xiangyue").glob("valid-*/*"))) == 1
