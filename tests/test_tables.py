"""Table reader: formats, encodings, headers, typed cells, every bad input pinned by code/row/column."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from xiangyue.errors import InputError, format_diagnostic
from xiangyue.i18n import codes
from xiangyue.rules.model import FieldSpec
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.data.tables import read_table

DATA = Path(__file__).parent / "data"
RS = load_ruleset(str(DATA / "jingou.yaml"))
FIELDS = RS.fields
HEADER = "记录编号,户号,日期,事项,数量,等级,级别,记录人,备注\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def read(path: Path, fields=FIELDS, **kw):
    return read_table(path, fields, key="record_id", **kw)


def found(result) -> list[tuple[str, int, str]]:
    return [(d.code, d.line, d.column) for d in result.diagnostics]


def fatal(path: Path, fields=FIELDS, **kw) -> list[tuple[str, int, str | int]]:
    with pytest.raises(InputError) as info:
        read_table(path, fields, **kw)
    return [(d.code, d.line, d.column) for d in info.value.diagnostics]


# -- good files -------------------------------------------------------------------------------


def test_chinese_headers_give_typed_rows_with_row_numbers():
    r = read(DATA / "records_zh.csv")
    assert r.ok and r.diagnostics == []
    assert r.encoding == "utf-8" and r.format == "csv"
    assert r.lines == [2, 3, 4, 5]
    first, second, third, fourth = r.rows
    assert first == {
        "record_id": "R001", "household": "001", "date": dt.date(2024, 3, 1),
        "activity": "志愿服务", "quantity": Decimal("3"), "grade": None, "level": None,
        "recorded_by": "王网格", "note": "清扫村道",
    }
    assert second["quantity"] == Decimal("1")  # empty: the rule file's default
    assert second["grade"] == "优"
    assert str(third["quantity"]) == "0.1"
    assert fourth["note"] == "好人好事, 县级"  # quoted comma
    assert r.columns["household"] == "户号"


def test_english_headers_bom_crlf_and_ascii_case_are_accepted():
    r = read(DATA / "records_en_bom.csv")
    assert r.ok, found(r)
    assert r.columns["record_id"] == "Record_ID"
    assert [row["household"] for row in r.rows] == ["010", "011"]
    assert r.rows[0]["quantity"] == Decimal("1.5")


def test_headers_are_trimmed_including_full_width_spaces_and_aliases_count(tmp_path):
    fields = FIELDS + (FieldSpec("team", "text", "小组", aliases=("组别",)),)
    p = write(tmp_path, "r.csv", "　记录编号　, 户号 ,日期,事项, 组别\nR1,001,2024-03-01,志愿服务,甲\n")
    r = read(p, fields)
    assert r.ok, found(r)
    assert r.rows[0]["team"] == "甲"
    assert r.columns["record_id"] == "记录编号"


def test_ids_stay_text_and_cells_are_trimmed(tmp_path):
    p = write(tmp_path, "r.csv", HEADER + " R1 , 001 ,2024-03-01, 志愿服务 ,  2.50 ,,,,\n")
    r = read(p)
    row = r.rows[0]
    assert (row["record_id"], row["household"], row["activity"]) == ("R1", "001", "志愿服务")
    assert row["quantity"] == Decimal("2.50") and str(row["quantity"]) == "2.50"


def test_blank_rows_and_trailing_empty_cells_are_ignored(tmp_path):
    p = write(tmp_path, "r.csv",
              HEADER + "R1,001,2024-03-01,志愿服务,,,,,\n\n,,,,,,,,\nR2,002,2024-03-02,志愿服务,,,,,,,\n")
    r = read(p)
    assert r.ok, found(r)
    assert r.lines == [2, 5]


def test_gbk_bytes_as_saved_by_excel_are_detected(tmp_path):
    p = write(tmp_path, "gbk.csv", HEADER + "R1,001,2024-03-01,焚烧秸秆,,,,张三,罚款\r\n",
              encoding="gbk")
    r = read(p)
    assert r.ok and r.encoding == "gb18030"
    assert r.rows[0]["activity"] == "焚烧秸秆" and r.rows[0]["recorded_by"] == "张三"


def test_gbk_file_whose_first_rows_are_ascii_is_still_detected(tmp_path):
    rows = "".join(f"R{i},{i:03d},2024-03-01,x,,,,,\n" for i in range(6000))
    p = write(tmp_path, "gbk.csv", HEADER + rows + "R9999,001,2024-03-01,志愿服务,,,,,\n",
              encoding="gbk")
    r = read(p)
    assert r.ok and r.encoding == "gb18030" and len(r.rows) == 6001
    assert r.rows[-1]["activity"] == "志愿服务"


def test_forced_encoding(tmp_path):
    p = write(tmp_path, "gbk.csv", HEADER + "R1,001,2024-03-01,志愿服务,,,,,\n", encoding="gbk")
    assert read(p, encoding="gbk").rows[0]["activity"] == "志愿服务"
    assert fatal(p, encoding="utf-8") == [("E-TABLE-DECODE", 1, 0)]
    q = write(tmp_path, "gbk2.csv", "record_id,household,date,activity\nR1,001,2024-03-01,x\n"
              "R2,001,2024-03-01,志愿服务\n", encoding="gbk")
    with pytest.raises(InputError) as info:
        read(q, encoding="utf-8")
    d = info.value.diagnostics[0]
    assert (d.code, d.line) == ("E-TABLE-DECODE", 3)
    assert d.message("zh") == "文件不是 utf-8 编码（第 3 行有无法解码的字节）"
    assert fatal(p, encoding="no-such-codec") == [("E-TABLE-ENCODING-NAME", 0, 0)]


def test_a_file_that_is_neither_utf8_nor_gbk_is_refused(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes(HEADER.encode("utf-8") + "R1,001,2024-03-01,café,,,,,\n".encode("latin-1"))
    assert fatal(p) == [("E-TABLE-ENCODING-MIXED", 2, 0)]  # UTF-8 header, then not
    p.write_bytes(b"record_id,household,date,activity\nR1,001,2024-03-01,\xfe\xfe\xaa\xaa\n")
    assert fatal(p) == [("E-TABLE-ENCODING", 0, 0)]


def test_tab_separated_utf16_text_as_excel_saves_unicode_text(tmp_path):
    p = tmp_path / "r.txt"
    p.write_bytes(("记录编号\t户号\t日期\t事项\nR1\t001\t2024-03-01\t志愿服务\n").encode("utf-16"))
    r = read(p)
    assert r.ok, found(r)
    assert r.rows[0]["household"] == "001"


def test_jsonl_lines_and_exact_numbers():
    r = read(DATA / "records.jsonl")
    assert r.ok, found(r)
    assert r.lines == [1, 3]
    assert r.rows[0]["quantity"] == Decimal("0.1") and str(r.rows[0]["quantity"]) == "0.1"
    assert r.rows[1]["quantity"] == Decimal("1")  # null: default
    assert r.rows[1]["note"] == "照顾老人"


def test_jsonl_numbers_for_text_fields_become_text(tmp_path):
    p = write(tmp_path, "r.jsonl",
              json.dumps({"记录编号": 7, "户号": "007", "日期": "2024-03-01", "事项": "x"}) + "\n")
    assert read(p).rows[0]["record_id"] == "7"


def xlsx(tmp_path: Path, rows: list[list], name: str = "r.xlsx", sheet: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    if sheet:
        ws.title = "说明"
        ws.append(["本表为说明"])
        ws = wb.create_sheet(sheet)
    for row in rows:
        ws.append(row)
    p = tmp_path / name
    wb.save(p)
    return p


def test_xlsx_cells_are_converted_sensibly(tmp_path):
    p = xlsx(tmp_path, [
        ["记录编号", "户号", "日期", "事项", "数量", "记录人"],
        ["R1", "001", dt.date(2024, 3, 1), "志愿服务", 0.1, 12],
        [2, 7.0, "2024-03-02", "垃圾分类", 3, None],
        ["R3", "003", dt.datetime(2024, 3, 3), "垃圾分类", 1e-05, None],
    ])
    r = read(p)
    assert r.ok, found(r)
    a, b, c = r.rows
    assert a["date"] == dt.date(2024, 3, 1) and str(a["quantity"]) == "0.1"
    assert a["recorded_by"] == "12"
    assert (b["record_id"], b["household"]) == ("2", "7")  # 1.0 -> "1", not "1.0"
    assert b["date"] == dt.date(2024, 3, 2) and b["quantity"] == Decimal(3)
    assert c["date"] == dt.date(2024, 3, 3) and str(c["quantity"]) == "0.00001"


def test_xlsx_named_sheet_and_missing_sheet(tmp_path):
    p = xlsx(tmp_path, [["记录编号", "户号", "日期", "事项"], ["R1", "001", "2024-03-01", "x"]],
             sheet="三月")
    assert read(p, sheet="三月").rows[0]["record_id"] == "R1"
    with pytest.raises(InputError) as info:
        read(p, sheet="四月")
    d = info.value.diagnostics[0]
    assert d.code == "E-TABLE-SHEET" and "三月" in d.hint("zh")


def test_xlsx_bad_cells_are_pinned_by_sheet_row_and_column(tmp_path):
    p = xlsx(tmp_path, [
        ["记录编号", "户号", "日期", "事项", "数量"],
        ["R1", "001", dt.datetime(2024, 3, 1, 9, 30), "x", "abc"],
        [],
        ["R2", "001", 45352, "x", "#NUM!"],
    ])
    assert found(read(p)) == [  # a time typed with the date is fine, and so is a date serial
        ("E-TABLE-DECIMAL", 2, "数量"), ("E-TABLE-DECIMAL", 4, "数量"),
    ]


def test_unreadable_xlsx_and_old_xls(tmp_path):
    p = tmp_path / "broken.xlsx"
    p.write_bytes(b"PK\x03\x04 not really a workbook")
    assert fatal(p) == [("E-TABLE-XLSX", 0, 0)]
    q = tmp_path / "old.xls"
    q.write_bytes(b"\xd0\xcf\x11\xe0")
    assert fatal(q) == [("E-TABLE-XLS", 0, 0)]


# -- bad files --------------------------------------------------------------------------------


def test_unknown_column_suggests_the_closest_name_and_missing_required_columns(tmp_path):
    p = write(tmp_path, "r.csv", "记录编号,户号,日其,事项,quantiti,颜色\nR1,001,2024-03-01,x,1,红\n")
    r = read(p, strict_columns=True)
    assert found(r) == [
        ("E-TABLE-MISSING-COLUMN", 1, ""),
        ("E-TABLE-UNKNOWN-COLUMN", 1, "日其"),
        ("E-TABLE-UNKNOWN-COLUMN", 1, "quantiti"),
        ("E-TABLE-UNKNOWN-COLUMN", 1, "颜色"),
    ]
    missing, riqi, quantiti, color = r.diagnostics
    assert missing.message("zh") == "缺少必填列“日期”"
    assert riqi.hint("zh") == "是不是“日期”？"
    assert quantiti.hint("en") == "did you mean 'quantity'?"
    assert color.hint("zh").startswith("可用的列：记录编号、户号、日期")


def test_duplicate_column_for_one_field(tmp_path):
    p = write(tmp_path, "r.csv", "记录编号,户号,household,日期,事项\nR1,001,001,2024-03-01,x\n")
    assert found(read(p)) == [("E-TABLE-DUP-COLUMN", 1, "household")]


def test_ragged_rows(tmp_path):
    p = write(tmp_path, "r.csv",
              "记录编号,户号,日期,事项\nR1,001,2024-03-01,x,多余\nR2,001\nR3,001,2024-03-01,x,\n")
    r = read(p)
    assert found(r) == [("E-TABLE-RAGGED-LONG", 2, ""), ("E-TABLE-RAGGED-SHORT", 3, "")]
    assert "多余" in r.diagnostics[0].hint("zh")
    assert [row["record_id"] for row in r.rows] == ["R3"]


def test_data_under_a_column_without_header(tmp_path):
    p = write(tmp_path, "r.csv", "记录编号,户号,,日期,事项\nR1,001,,2024-03-01,x\nR2,001,？,2024-03-01,x\n")
    assert found(read(p)) == [("E-TABLE-NO-HEADER", 3, "")]


def test_duplicate_record_id_names_both_rows(tmp_path):
    p = write(tmp_path, "r.csv", HEADER + "R1,001,2024-03-01,x,,,,,\nR2,001,2024-03-01,x,,,,,\n"
              "R1,002,2024-03-02,y,,,,,\n")
    r = read(p)
    assert found(r) == [("E-TABLE-DUP-KEY", 4, "记录编号")]
    assert r.diagnostics[0].message("zh") == "记录编号 R1 重复：第 2 行和第 4 行"
    assert r.diagnostics[0].message("en") == "记录编号 R1 appears twice: rows 2 and 4"


def test_bad_cells_all_reported_with_hints(tmp_path):
    p = write(tmp_path, "r.csv", HEADER
              + "R1,001,2024-02-30,x,NaN,好,,,\n"
              + "R2,001,2024/3/1,x,inf,,,,\n"
              + "R3,001,3月1日,x,-1,,,,\n"
              + "R4,,2024-03-01,,\"1,00\",,,,\n"
              + "R5,001,2024-3-1,x,１２,,市,,\n")
    r = read(p)
    assert found(r) == [
        ("E-TABLE-DATE-DAY", 2, "日期"), ("E-TABLE-DECIMAL", 2, "数量"),
        ("E-TABLE-VALUE", 2, "等级"),
        ("E-TABLE-DECIMAL", 3, "数量"),
        ("E-TABLE-DATE", 4, "日期"), ("E-TABLE-MIN", 4, "数量"),
        ("E-TABLE-DECIMAL", 5, "数量"), ("E-TABLE-REQUIRED", 5, "户号"),
        ("E-TABLE-REQUIRED", 5, "事项"),
        ("E-TABLE-VALUE", 6, "级别"),
    ]
    assert r.rows == []
    by = {(d.line, d.column): d for d in r.diagnostics}
    assert by[(4, "日期")].hint("en") == (
        "write dates as 2024-03-01, 2024/3/1 or 2024年3月1日; include the year")
    assert by[(2, "等级")].hint("zh") == "可选值：优、良、差"
    assert by[(4, "数量")].message("zh") == "“数量”为 -1，不能小于 0"
    assert format_diagnostic(by[(2, "日期")], "en") == (
        f"{p}:2:日期: E-TABLE-DATE-DAY: there is no such date as '2024-02-30'\n"
        "    hint: check the month and day (YYYY-MM-DD)")


def test_integer_boolean_and_max(tmp_path):
    fields = (FieldSpec("n", "integer", "人数", max=Decimal(10)), FieldSpec("ok", "boolean", "是否"))
    p = write(tmp_path, "t.csv", "人数,是否\n3,是\n3.5,maybe\n11,FALSE\n,0\n")
    r = read_table(p, fields)
    # within a row, diagnostics are in code order (Diagnostic.sort_key)
    assert found(r) == [("E-TABLE-BOOLEAN", 3, "是否"), ("E-TABLE-INTEGER", 3, "人数"),
                        ("E-TABLE-MAX", 4, "人数")]
    assert r.rows == [{"n": 3, "ok": True}, {"n": None, "ok": False}]


def test_errors_in_later_chunks_keep_their_row_numbers(tmp_path):
    rows = [f"R{i},{i % 300:03d},2024-03-01,x,1,,,,\n" for i in range(9000)]
    rows[6000] = "R6000,001,2024-13-01,x,1,,,,\n"  # row 6002
    rows[8999] = "R5,001,2024-03-01,x,1,,,,\n"  # row 9001 repeats row 7
    r = read(write(tmp_path, "big.csv", HEADER + "".join(rows)))
    assert found(r) == [("E-TABLE-DATE-DAY", 6002, "日期"), ("E-TABLE-DUP-KEY", 9001, "记录编号")]
    assert r.diagnostics[1].args["first"] == 7
    assert len(r.rows) == 8998 and r.lines[-1] == 9000


def test_too_many_errors_are_capped_with_a_count(tmp_path):
    p = write(tmp_path, "r.csv", HEADER + "".join(f"R{i},001,bad,x,z,,,,\n" for i in range(8)))
    r = read(p, max_errors=5)
    assert [d.code for d in r.diagnostics][-1] == "E-TABLE-TOO-MANY"
    assert len(r.diagnostics) == 6 and r.diagnostics[-1].args == {"n": 11}


def test_one_error_on_many_rows_is_one_line_with_the_first_rows_quoted(tmp_path):
    p = write(tmp_path, "r.csv", HEADER + "".join(f"R{i},001,bad,x,,,,,\n" for i in range(2000)))
    r = read(p, max_errors=5)
    assert [d.code for d in r.diagnostics] == ["E-TABLE-SAME"] + ["E-TABLE-DATE"] * 3
    assert [d.line for d in r.diagnostics] == [2, 2, 3, 4]
    assert r.diagnostics[0].message("zh") == "第 2–2001 行：日期“bad”格式不对（共 2000 行）"
    assert r.diagnostics[0].message("en") == (
        "rows 2–2001: date 'bad' is not in the expected form (2000 rows)")


def test_jsonl_errors(tmp_path):
    p = write(tmp_path, "r.jsonl", "\n".join([
        '{"记录编号": "R1", "户号": "001", "日期": "2024-03-01", "事项": "x"}',
        '{"记录编号": "R2", "户号": "001", "日期": "2024-03-01"',
        '["R3"]',
        '{"记录编号": "R4", "户号": "001", "日期": "2024-03-01", "事项": "x", "数量": NaN}',
        '{"记录编号": "R1", "户号": "001", "日子": "2024-03-01", "事项": {"a": 1}}',
    ]) + "\n")
    assert found(read(p)) == [
        ("E-TABLE-JSONL", 2, 0), ("E-TABLE-JSONL-OBJECT", 3, 0), ("E-TABLE-JSONL", 4, 0),
        ("E-TABLE-DUP-KEY", 5, "记录编号"), ("E-TABLE-REQUIRED", 5, "日期"),
        ("E-TABLE-TEXT", 5, "事项"), ("W-TABLE-EXTRA-COLUMNS", 5, ""),
    ]


@pytest.mark.parametrize("content", ["", "\n\n", HEADER, HEADER + ",,,,,,,,\n\n"])
def test_empty_and_header_only_files(tmp_path, content):
    p = write(tmp_path, "r.csv", content)
    expected = "E-TABLE-EMPTY" if not content.strip() else "E-TABLE-NO-ROWS"
    assert [c for c, _, _ in fatal(p)] == [expected]


def test_empty_xlsx_and_header_only_xlsx(tmp_path):
    assert [c for c, _, _ in fatal(xlsx(tmp_path, [], "e.xlsx"))] == ["E-TABLE-EMPTY"]
    assert [c for c, _, _ in fatal(xlsx(tmp_path, [["记录编号", "户号"]], "h.xlsx"))] == [
        "E-TABLE-NO-ROWS"]


def test_missing_file_directory_and_unsupported_type(tmp_path):
    assert fatal(tmp_path / "nope.csv") == [("E-TABLE-FILE-MISSING", 0, 0)]
    (tmp_path / "dir.csv").mkdir()
    assert fatal(tmp_path / "dir.csv") == [("E-TABLE-FILE-READ", 0, 0)]
    p = write(tmp_path, "r.pdf", "x")
    assert fatal(p) == [("E-TABLE-FORMAT", 0, 0)]


def test_every_table_code_has_both_languages_and_hints_fill():
    table_codes = {c: m for c, m in codes().items() if c.startswith("E-TABLE-")}
    assert len(table_codes) >= 25
    for code, msg in table_codes.items():
        assert msg.zh and msg.en and msg.zh != msg.en, code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in msg.zh), code


def test_typed_cells_of_the_wrong_kind(tmp_path):
    fields = (FieldSpec("n", "integer", "人数"), FieldSpec("d", "date", "日期"),
              FieldSpec("t", "text", "说明"), FieldSpec("b", "boolean", "是否"))
    p = write(tmp_path, "t.jsonl", "\n".join([
        '{"人数": true, "日期": 20240301, "说明": ["a"], "是否": 2}',
        '{"人数": 3.0, "日期": "2024-03-01", "说明": true, "是否": 1}',
    ]) + "\n")
    r = read_table(p, fields)  # 20240301 typed as a number is the date it reads as
    assert found(r) == [("E-TABLE-BOOLEAN", 1, "是否"),
                        ("E-TABLE-INTEGER", 1, "人数"), ("E-TABLE-TEXT", 1, "说明")]
    assert r.diagnostics[2].message("en") == "'说明' should be text, not [\"a\"]"
    assert r.rows == [{"n": 3, "d": dt.date(2024, 3, 1), "t": "是", "b": True}]


def test_xlsx_numbers_formatted_with_leading_zeros_stay_the_ids_the_clerk_sees(tmp_path):
    import datetime as dt

    import openpyxl

    from xiangyue.rules.model import FieldSpec
    from xiangyue.data.tables import read_table

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户号", "日期"])
    ws.append([3, dt.datetime(2024, 3, 1, 12, 30)])
    ws["A2"].number_format = "000"
    ws.append([12, 45352])  # a date cell formatted as a number: the Excel serial of 2024-03-01
    path = tmp_path / "ids.xlsx"
    wb.save(path)
    fields = [FieldSpec("household", "text", "户号"), FieldSpec("date", "date", "日期")]
    result = read_table(path, fields)
    assert result.rows == [{"household": "003", "date": dt.date(2024, 3, 1)},
                           {"household": "12", "date": dt.date(2024, 3, 1)}]


# -- streaming (imports) ----------------------------------------------------------------------


def test_table_stream_gives_the_stored_values_of_read_table_in_blocks(tmp_path, monkeypatch):
    from xiangyue.data import tables
    from xiangyue.data.store import to_db
    from xiangyue.data.tables import TableStream

    monkeypatch.setattr(tables, "_CHUNK", 2)
    text = ("记录编号,户号,日期,事项,数量,等级\n" + "".join(
        f"R{i},00{i % 3},2024-03-0{1 + i % 9},志愿服务,{i}.50,优\n" for i in range(7))
        + "R9,001,2024-2-30,志愿服务,1,优\n" + "R1,001,2024-03-01,志愿服务,1,优\n")
    p = write(tmp_path, "s.csv", text)
    whole = read(p)
    stream = TableStream(p, FIELDS, key="record_id", chunk_rows=3)
    blocks = list(stream.blocks())
    assert len(blocks) > 1
    lines = [n for b in blocks for n in b.lines]
    rows = [r for b in blocks for r in zip(*b.columns)]
    assert lines == list(range(2, 9)) + [10]  # the repeated key is the caller's to find
    assert [b for blk in blocks for b in blk.bad_keys] == [(9, "R9")]
    expect = [tuple(to_db(f.type, r[f.id]) for f in FIELDS) for r in whole.rows]
    assert rows[:7] == expect[:7] and rows[0][FIELDS.index(next(
        f for f in FIELDS if f.id == "quantity"))] == "0.50"
    stream.add("E-TABLE-DUP-KEY", 10, "记录编号", name="记录编号", value="R1", first=3, row=10)
    stream.finish()
    assert found(stream.result) == found(whole)


def test_xlsx_ids_with_a_text_prefix_format_keep_what_the_clerk_sees(tmp_path):
    import openpyxl

    from xiangyue.rules.model import FieldSpec
    from xiangyue.data.tables import read_table

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户号"])
    ws.append([1])
    ws["A2"].number_format = '"JG"000'
    path = tmp_path / "jg.xlsx"
    wb.save(path)
    assert read_table(path, [FieldSpec("household", "text", "户号")]).rows == [{"household": "JG001"}]
