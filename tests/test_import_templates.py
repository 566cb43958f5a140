"""``xiangyue template``: the workbook a clerk fills, made from the rule file; filled in, it
imports with no message but the row count."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main

DATA = Path(__file__).parent / "data"
RULES = str(DATA / "jingou.yaml")


def run(*args):
    return CliRunner().invoke(main, list(args))


def make(tmp_path, kind) -> Path:
    out = tmp_path / f"{kind}.xlsx"
    r = run("template", kind, RULES, "--output", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout == f"已生成模板 {out}\n"
    return out


def test_records_template_has_the_rule_files_columns_drop_downs_formats_and_notes(tmp_path):
    wb = openpyxl.load_workbook(make(tmp_path, "records"))
    ws = wb.worksheets[0]
    assert wb.sheetnames == ["活动记录", "选项", "说明"] and wb["选项"].sheet_state == "hidden"
    assert [c.value for c in ws[1]] == ["记录编号", "户号", "日期", "事项", "数量", "等级", "级别",
                                        "记录人", "备注"]
    assert [c.font.b for c in ws[1]][:5] == [True, True, True, True, False]  # required in bold
    assert [c.value for c in ws[2]][:5] == ["R0001", "001", dt.datetime(2024, 1, 5), "志愿服务", 1]
    assert ws.freeze_panes == "A2"
    assert ws["A2"].number_format == "@" and ws["C2"].number_format == "yyyy-mm-dd"
    lists = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert set(lists) == {"D2", "E2", "F2", "G2"}  # 事项, 数量 (a number), 等级, 级别
    lst = wb["选项"]
    activity = lists["D2"].formula1
    col = activity.split("!")[1][1]
    names = [c.value for c in lst[col][1:]]
    assert names[:3] == ["志愿服务", "义务劳动", "参加坝坝会"] and len(names) == 12
    assert lists["F2"].errorStyle == "stop" and lists["D2"].errorStyle == "warning"
    notes = wb["说明"]
    rows = {r[0].value: r for r in notes.iter_rows(min_row=5)}
    assert "2024/3/5" in rows["日期"][4].value and rows["记录编号"][3].value == "是"
    assert ws.column_dimensions["D"].width >= 14


@pytest.mark.parametrize("kind, rows, command", [
    ("records", [["R1", "001", dt.date(2024, 3, 1), "志愿服务", 3, None, None, "王网格", None],
                 ["R2", "002", dt.date(2024, 3, 2), "庭院检查", None, "优", None, None, None]],
     ["records", "import"]),
    ("households", [["001", "张大山", "一组"], ["002", "李秀英", "一组"]], ["households", "import"]),
    ("cases", [["C1", "村级重大事项决策", "修路", 60000, "提议", dt.date(2024, 3, 1), None, None, None]],
     ["cases", "import"]),
])
def test_a_filled_in_template_imports_with_no_message_but_the_row_count(tmp_path, kind, rows,
                                                                        command):
    p = make(tmp_path, kind)
    wb = openpyxl.load_workbook(p)
    ws = wb.worksheets[0]
    ws.delete_rows(2)  # the example row, overwritten by the clerk
    for r in rows:
        ws.append(r)
    wb.save(p)
    db = tmp_path / "v.db"
    if kind == "records":
        h = tmp_path / "h.csv"
        h.write_text("户号,户主,网格\n001,张大山,一组\n002,李秀英,一组\n", encoding="utf-8")
        assert run("households", "import", str(h), "-r", RULES, "--db", str(db)).exit_code == 0
    r = run(*command, str(p), "-r", RULES, "--db", str(db))
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    assert r.stdout.startswith(f"已导入 {len(rows)} ")


def test_the_example_row_itself_imports_cleanly(tmp_path):
    r = run("records", "import", str(make(tmp_path, "records")), "-r", RULES,
            "--db", str(tmp_path / "v.db"))
    assert (r.exit_code, r.stdout, r.stderr) == (0, "已导入 1 条记录（新增 1，未变 0）\n", "")


def test_output_must_be_a_workbook(tmp_path):
    r = run("template", "records", RULES, "--output", str(tmp_path / "t.csv"))
    assert r.exit_code == 2 and ".xlsx" in r.output
