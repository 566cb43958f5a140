"""``xiangyue init``: a working folder whose rule file validates and passes ``xiangyue test``."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.rules.pipeline import load_ruleset

ROOT = Path(__file__).parent.parent.parent
TEMPLATE = ROOT / "rulesets" / "templates" / "jiangyang-county.yaml"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_init_makes_a_folder_that_validates_and_tests(tmp_path):
    folder = tmp_path / "丰隆"
    r = run("init", str(folder), "--village", "丰隆村", "--town", "江北镇")
    assert r.exit_code == 0, r.output
    rules = folder / "丰隆村.yaml"
    rs = load_ruleset(rules)
    assert (rs.village, rs.name, rs.town if hasattr(rs, "town") else "江北镇") == (
        "丰隆村", "丰隆村积分制管理细则", "江北镇")
    assert run("validate", str(rules)).exit_code == 0
    tested = run("test", str(rules))
    assert tested.exit_code == 0, tested.output
    assert re.search(r"共 (\d+) 个算例：\1 个通过，0 个未通过", tested.output)
    assert sorted(p.name for p in (folder / "示例数据").iterdir()) == [
        "cases.csv", "households.csv", "records.csv"]
    from openpyxl import load_workbook

    wb = load_workbook(folder / "导入模板" / "积分记录.xlsx")
    header = [c.value for c in next(wb.worksheets[0].iter_rows(max_row=1))]
    assert header[:4] == ["记录编号", "户号", "日期", "事项"]
    assert sorted(p.name for p in (folder / "导入模板").iterdir()) == [
        "兑换登记.xlsx", "户籍名册.xlsx", "清单事项.xlsx", "积分记录.xlsx"]
    guide = (folder / "使用说明.md").read_text(encoding="utf-8")
    assert "xiangyue validate 丰隆村.yaml" in guide
    # the example data import under the new rule file
    db = str(tmp_path / "try.db")
    for what, f in (("households", "households.csv"), ("records", "records.csv")):
        r = run(what, "import", str(folder / "示例数据" / f), "-r", str(rules), "--db", db)
        assert r.exit_code == 0, r.output


def test_init_from_a_county_template(tmp_path):
    r = run("init", str(tmp_path / "v"), "--village", "新村", "--template", str(TEMPLATE))
    assert r.exit_code == 0, r.output
    rs = load_ruleset(tmp_path / "v" / "新村.yaml")
    assert rs.village == "新村" and rs.extends and len(rs.rules) > 5
    assert run("test", str(tmp_path / "v" / "新村.yaml")).exit_code == 0


def test_init_never_overwrites(tmp_path):
    assert run("init", str(tmp_path), "--village", "甲村").exit_code == 0
    before = (tmp_path / "甲村.yaml").read_bytes()
    r = run("init", str(tmp_path), "--village", "甲村")
    assert r.exit_code == 2 and "E-INIT-EXISTS" in r.stderr
    assert (tmp_path / "甲村.yaml").read_bytes() == before


def test_a_village_name_with_slashes_stays_in_the_folder(tmp_path):
    r = run("init", str(tmp_path / "w"), "--village", "../x村")
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "x村.yaml").exists()
    assert load_ruleset(tmp_path / "w" / "_x村.yaml").village == "../x村"
