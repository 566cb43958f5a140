"""The clerk's spreadsheets as they are: title rows (merged), the header on row 3, 合计 and
制表人 rows, extra columns, Excel-saved GBK CSV with 2024/3/5 dates, 2024年3月5日 text dates,
full-width digits, workbooks of several sheets. Each imports without an error and gives the
very totals of the same records imported from a clean CSV.

The workbooks are built here with openpyxl the way Excel saves them (dates as date cells, ids
formatted as text or ``000``, merged title cells, a SUM formula in the 合计 row).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.styles import Alignment, Font

from xiangyue.cli.main import main
from xiangyue.data.store import open_store

DATA = Path(__file__).parent / "data"
RULES = str(DATA / "jingou.yaml")

# (记录编号, 户号, 日期, 事项, 数量, 等级, 级别, 记录人, 备注): worked by hand below
RECORDS = [
    ("R001", "001", dt.date(2024, 3, 1), "志愿服务", "3", "", "", "王网格", "清扫村道"),
    ("R002", "002", dt.date(2024, 3, 2), "庭院检查", "", "优", "", "考评小组", ""),
    ("R003", "001", dt.date(2024, 3, 5), "垃圾分类", "0.1", "", "", "王网格", ""),
    ("R004", "003", dt.date(2024, 3, 9), "获得表彰", "", "", "县级", "村委会", "好人好事, 县级"),
    ("R005", "002", dt.date(2024, 3, 12), "义务劳动", "2", "", "", "王网格", ""),
    ("R006", "003", dt.date(2024, 3, 20), "志愿服务", "1.5", "", "", "李网格", ""),
]
HEADER = ["记录编号", "户号", "日期", "事项", "数量", "等级", "级别", "记录人", "备注"]
HOUSEHOLDS = [("001", "张大山", "一组"), ("002", "李秀英", "一组"), ("003", "王建国", "二组")]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def totals(db: Path) -> dict:
    r = run("evaluate", RULES, "--db", str(db), "--period", "2024-Q1", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    return {"households": out["households"], "unmatched": out["unmatched"],
            "invalid": out["invalid"], "record_count": out["record_count"]}


def imported(tmp_path: Path, name: str, records: Path, households: Path | None = None,
             *extra: str) -> tuple[Path, str]:
    db = tmp_path / f"{name}.db"
    hh = households or _clean_households(tmp_path)
    r = run("households", "import", str(hh), "-r", RULES, "--db", str(db))
    assert r.exit_code == 0, r.output
    r = run("records", "import", str(records), "-r", RULES, "--db", str(db), *extra)
    assert r.exit_code == 0, r.output
    assert not re.search(r"\bE-[A-Z]", r.stderr), r.stderr  # not one error
    return db, r.stderr


def _clean_households(tmp_path: Path) -> Path:
    p = tmp_path / "households.csv"
    p.write_text("户号,户主,网格\n" + "".join(",".join(h) + "\n" for h in HOUSEHOLDS),
                 encoding="utf-8")
    return p


def clean_csv(tmp_path: Path) -> Path:
    p = tmp_path / "clean.csv"
    lines = [",".join(HEADER)]
    for r in RECORDS:
        cells = [r[0], r[1], r[2].isoformat(), *r[3:]]
        lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def expected(tmp_path):
    db, err = imported(tmp_path, "clean", clean_csv(tmp_path))
    assert err == ""
    t = totals(db)
    # by hand: 001 volunteer 3 h × 2 + sorting 0.1 × 0.5 = 6.05; 002 courtyard 优 5 + labour
    # 2 × 3 = 11; 003 honour 县级 10 + volunteer 1.5 h × 2 = 13
    assert {h["household"]: h["total"] for h in t["households"]} == {
        "001": 6.05, "002": 11, "003": 13}
    assert t["record_count"] == 6 and not t["unmatched"]
    return t


def _excel_sheet(ws, records, *, title_rows: bool = True, extras: bool = True) -> None:
    """A register sheet as a clerk keeps it: a merged title, a note row, the header on row 3,
    extra columns (序号, 户主, 联系电话), then the data, a 合计 row with a formula and a
    signature row."""
    head = (["序号"] if extras else []) + HEADER + (["户主", "联系电话"] if extras else [])
    width = len(head)
    if title_rows:
        ws.append(["金钩村2024年3月积分登记表"] + [None] * (width - 1))
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        ws["A1"].font = Font(bold=True, size=16)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws.append(["填报单位：金钩村村委会", None, None, "填报日期：2024年3月31日"])
    ws.append(head)
    heads = dict(HOUSEHOLDS and {h[0]: h[1] for h in HOUSEHOLDS})
    for n, r in enumerate(records, 1):
        qty = r[4]
        cells = ([n] if extras else []) + [r[0], int(r[1]), r[2], r[3],
                                           float(qty) if qty else None, r[5] or None,
                                           r[6] or None, r[7], r[8] or None]
        if extras:
            cells += [heads[r[1]], 13800000000 + n]
        ws.append(cells)
        row = ws.max_row
        col = 2 + (1 if extras else 0)
        ws.cell(row, col).number_format = "000"  # 户号 typed as 1, shown as 001
        ws.cell(row, col + 1).number_format = "yyyy/m/d"
    last = ws.max_row
    qcol = openpyxl.utils.get_column_letter(5 + (1 if extras else 0))
    total = [None] * width
    total[0] = "合计"
    total[4 + (1 if extras else 0)] = f"=SUM({qcol}4:{qcol}{last})"
    ws.append(total)
    ws.append(["制表人：王网格", None, None, "审核人：李主任"])


def test_a_workbook_with_titles_merged_cells_totals_and_extra_columns(tmp_path, expected):
    wb = openpyxl.Workbook()
    _excel_sheet(wb.active, RECORDS)
    p = tmp_path / "三月登记表.xlsx"
    wb.save(p)
    db, err = imported(tmp_path, "xlsx", p)
    assert totals(db) == expected
    assert "第 1–2 行是标题，已跳过" in err
    assert "合计" in err and "第 10–11 行" in err  # the total and the signature row
    assert err.count("W-TABLE-EXTRA-COLUMNS") == 1 and "“联系电话”" in err
    with open_store(db) as s:  # the extra columns are kept with each record
        extra = s.conn.execute("SELECT extra FROM records WHERE record_id = 'R001'").fetchone()[0]
    assert json.loads(extra) == {"序号": "1", "户主": "张大山", "联系电话": "13800000001"}


def test_a_workbook_of_several_sheets_reads_the_one_whose_header_fits(tmp_path, expected):
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.append(["本表每月 5 日前报村委会"])
    _excel_sheet(wb.create_sheet("二月"), [], title_rows=False, extras=False)
    _excel_sheet(wb.create_sheet("三月"), RECORDS)
    wb["二月"].delete_rows(1, wb["二月"].max_row)  # an empty sheet before the data
    p = tmp_path / "登记簿.xlsx"
    wb.save(p)
    db, err = imported(tmp_path, "sheets", p)
    assert totals(db) == expected
    assert "读取工作表“三月”" in err
    db2, _ = imported(tmp_path, "named", p, None, "--sheet", "三月")
    assert totals(db2) == expected


def test_an_excel_saved_gbk_csv_with_slash_dates_titles_and_a_total_row(tmp_path, expected):
    rows = ["金钩村2024年3月积分登记表,,,,,,,,", ",,,,,,,,", ",".join(HEADER)]
    for r in RECORDS:
        day = f"{r[2].year}/{r[2].month}/{r[2].day}"  # as Excel writes a date cell to CSV
        cells = [r[0], r[1], day, *r[3:]]
        rows.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    rows += ["合计,,,,8.6,,,,", "制表人：王网格,,,审核人：李主任,,,,,"]
    p = tmp_path / "excel.csv"
    p.write_bytes("\r\n".join(rows).encode("gbk") + b"\r\n")
    db, err = imported(tmp_path, "gbk", p)
    assert totals(db) == expected
    assert "第 1 行是标题" in err


def test_text_dates_full_width_digits_and_thousands_in_a_utf8_csv(tmp_path, expected):
    rows = ["序号," + ",".join(HEADER)]
    for n, r in enumerate(RECORDS, 1):
        day = f"{r[2].year}年{r[2].month}月{r[2].day}日"
        qty = r[4].translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))
        cells = [str(n), r[0], r[1], day, r[3], qty, *r[5:]]
        rows.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    p = tmp_path / "typed.csv"
    p.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    db, _ = imported(tmp_path, "typed", p)
    assert totals(db) == expected


def test_a_households_register_with_a_title_and_numbers_as_ids(tmp_path, expected):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["金钩村户籍名册"])
    ws.append(["户号", "户主", "网格", "家庭人口"])
    for h, head, grid in HOUSEHOLDS:
        ws.append([int(h), head, grid, 4])
        ws.cell(ws.max_row, 1).number_format = "000"
    ws.append(["合计：3 户"])
    p = tmp_path / "名册.xlsx"
    wb.save(p)
    db, _ = imported(tmp_path, "register", clean_csv(tmp_path), p)
    assert totals(db) == expected


def test_files_straight_into_evaluate_are_read_the_same_way(tmp_path, expected):
    wb = openpyxl.Workbook()
    _excel_sheet(wb.active, RECORDS)
    p = tmp_path / "三月.xlsx"
    wb.save(p)
    r = run("evaluate", RULES, "--records", str(p), "--households",
            str(_clean_households(tmp_path)), "--period", "2024年一季度", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["households"] == expected["households"]


# -- refused, with file, row and column; the database as it was ------------------------------


def _dump(db: Path) -> bytes:
    return db.read_bytes() if db.exists() else b""


@pytest.mark.parametrize("content, code, where", [
    ("记录编号,日期,事项\nR1,2024-03-01,志愿服务\n", "E-TABLE-MISSING-COLUMN", ":1:"),
    ("记录编号,户号,日期,事项\nR1,001,2024-02-30,志愿服务\n", "E-TABLE-DATE-DAY", ":2:日期:"),
    ("记录编号,户号,日期,事项\nR1,001,2024年13月1日,志愿服务\n", "E-TABLE-DATE-DAY", ":2:日期:"),
    ("标题\nR1\n", "E-TABLE-HEADER-NOT-FOUND", "没有找到表头：第 1–2 行中没有一行包含 记录编号、户号、日期、事项"),
])
def test_genuinely_bad_files_are_refused_and_nothing_changes(tmp_path, content, code, where):
    db = tmp_path / "v.db"
    r = run("records", "import", str(clean_csv(tmp_path)), "-r", RULES, "--db", str(db))
    assert r.exit_code == 0
    before = _dump(db)
    p = tmp_path / "bad.csv"
    p.write_text(content, encoding="utf-8")
    r = run("records", "import", str(p), "-r", RULES, "--db", str(db))
    assert r.exit_code == 2 and code in r.stderr and where in r.stderr, r.output
    assert "Traceback" not in r.output
    assert _dump(db) == before
    fresh = tmp_path / "new.db"  # and a failed first import leaves no database behind
    r = run("records", "import", str(p), "-r", RULES, "--db", str(fresh))
    assert r.exit_code == 2 and not fresh.exists()


def test_missing_columns_of_households_and_cases_are_errors_not_tracebacks(tmp_path):
    db = tmp_path / "v.db"
    h = tmp_path / "h.csv"
    h.write_text("户主,网格\n张三,一组\n", encoding="utf-8")
    r = run("households", "import", str(h), "-r", RULES, "--db", str(db))
    assert r.exit_code == 2 and "缺少必填列“户号”" in r.stderr
    c = tmp_path / "c.csv"
    c.write_text("事项编号,清单事项,日期\nC1,村级工程项目,2024-03-01\n", encoding="utf-8")
    r = run("cases", "import", str(c), "-r", RULES, "--db", str(db))
    assert r.exit_code == 2 and "c.csv:2:步骤: E-IMPORT-CASE-NO-STEP: 事项 C1 缺少步骤" in r.stderr
    assert not db.exists()


def test_explain_shows_the_extra_fields_kept_with_a_record(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("序号,记录编号,户号,日期,事项,数量,联系电话\n1,R1,001,2024/3/5,志愿服务,2,13800000001\n",
                 encoding="utf-8")
    db = tmp_path / "v.db"
    assert run("records", "import", str(p), "-r", RULES, "--db", str(db)).exit_code == 0
    r = run("explain", RULES, "001", "--period", "2024-Q1", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert "3月5日 志愿服务 ×2：按“志愿服务”得 4 分（序号 1，联系电话 13800000001）" in r.stdout
    r = run("explain", RULES, "001", "--period", "2024-Q1", "--records", str(p), "--format", "json")
    (rec,) = json.loads(r.stdout)["records"]
    assert rec["extra"] == {"序号": "1", "联系电话": "13800000001"}
