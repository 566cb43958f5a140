"""Inside a village folder made by ``xiangyue init``, imports and import forms follow the
folder's rule file when none is named (not the reference village's), and say so."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from xiangyue.cli.main import main
from xiangyue.data.workspace import folder_ruleset

ROOT = Path(__file__).parent.parent.parent
TEMPLATE = ROOT / "rulesets" / "templates" / "jiangyang-county.yaml"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False,
                              env={"XIANGYUE_RULESET": ""})


def _header(path: Path) -> list:
    return [c.value for c in next(load_workbook(path).worksheets[0].iter_rows(max_row=1))]


def test_the_one_rule_file_of_a_folder(tmp_path):
    assert folder_ruleset(tmp_path) is None
    (tmp_path / "county.yaml").write_text("name: 江阳区\nvillages: []\n", encoding="utf-8")
    (tmp_path / "notes.yml").write_text("- 会议记录\n", encoding="utf-8")
    assert folder_ruleset(tmp_path) is None  # YAML, but not rule files
    (tmp_path / "甲村.yaml").write_text("# 甲村\nxiangyue: 1\nvillage: 甲村\n", encoding="utf-8")
    assert folder_ruleset(tmp_path) == tmp_path / "甲村.yaml"
    (tmp_path / "乙村.yml").write_text("xiangyue: 1\nvillage: 乙村\n", encoding="utf-8")
    assert folder_ruleset(tmp_path) is None  # two: which one is meant is not ours to guess
    (tmp_path / "乙村.yml").write_text('extends: "甲村.yaml"\nxiangyue: 1\n', encoding="utf-8")
    assert folder_ruleset(tmp_path) == tmp_path / "乙村.yml"  # the template it extends drops out


def test_template_and_import_in_an_init_folder_follow_its_rules(tmp_path, monkeypatch):
    folder = tmp_path / "石桥村"
    assert run("init", str(folder), "--village", "石桥村").exit_code == 0
    rules = folder / "石桥村.yaml"
    # the village adds a column of its own
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "fields:\n", "fields:\n  - {id: witness, label: 证明人, type: text}\n", 1), encoding="utf-8")
    monkeypatch.chdir(folder)
    r = run("template", "records", "--output", "表.xlsx")
    assert r.exit_code == 0, r.output
    assert "按当前文件夹的规则文件 石桥村.yaml 生成" in r.stderr and "参考村" not in r.stderr
    assert "证明人" in _header(folder / "表.xlsx")
    (folder / "r.csv").write_text("记录编号,户号,日期,事项,证明人\nR1,JG001,2024-03-01,志愿服务,王五\n",
                                  encoding="utf-8")
    r = run("records", "import", "r.csv", "--strict-columns")
    assert r.exit_code == 0, r.output
    assert "按当前文件夹的规则文件 石桥村.yaml 的列检查" in r.stderr
    # remembered: a later command in the folder needs no rule file either
    r = run("template", "households", "--output", "户.xlsx")
    assert r.exit_code == 0 and "未指定规则文件" not in r.stderr


def test_a_folder_from_a_county_template_uses_the_village_file(tmp_path, monkeypatch):
    folder = tmp_path / "新村"
    assert run("init", str(folder), "--village", "新村", "--template", str(TEMPLATE)).exit_code == 0
    monkeypatch.chdir(folder)
    r = run("template", "records", "--output", "表.xlsx", "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "this folder's rule file 新村.yaml" in r.stderr
