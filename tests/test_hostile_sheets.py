"""Files that once ended in a traceback (or silently wrong): each is now read right or refused
with a diagnostic naming file, row and column, and never anything else. Ends with a bounded
fuzz test over mutated spreadsheets."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xiangyue.data import tables
from xiangyue.data.tables import read_table
from xiangyue.errors import InputError, XiangyueError
from xiangyue.rules.model import FieldSpec

FIELDS = (
    FieldSpec("record_id", "text", "记录编号", required=True),
    FieldSpec("household", "text", "户号", required=True),
    FieldSpec("date", "date", "日期", required=True),
    FieldSpec("activity", "text", "事项", required=True),
    FieldSpec("quantity", "decimal", "数量", default=1),
)
HEADER = ["记录编号", "户号", "日期", "事项", "数量"]


def found(r):
    return [(d.code, d.line, d.column) for d in r.diagnostics if d.severity == "error"]


def fatal(path, **kw):
    with pytest.raises(InputError) as info:
        read_table(path, FIELDS, **kw)
    return [(d.code, d.line, d.column) for d in info.value.diagnostics]


def workbook(tmp_path, rows, name="r.xlsx") -> Path:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    p = tmp_path / name
    wb.save(p)
    return p


def rewrite(path: Path, member: str, change) -> None:
    """Rewrite one part of a workbook (as another program, or an attacker, would write it)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts[member] = change(parts[member])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)


SHEET = "xl/worksheets/sheet1.xml"


# -- formulas ---------------------------------------------------------------------------------


def test_a_formula_with_its_stored_result_is_read_as_the_result(tmp_path):
    p = workbook(tmp_path, [HEADER, ["R1", "001", dt.date(2024, 3, 1), "志愿服务", "=1+1"]])
    rewrite(p, SHEET, lambda x: x.replace(b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>"))
    r = read_table(p, FIELDS)
    assert found(r) == [] and r.rows[0]["quantity"] == 2


def test_a_formula_without_a_result_is_an_error_naming_the_cell(tmp_path):
    p = workbook(tmp_path, [HEADER, ["R1", "001", dt.date(2024, 3, 1), "志愿服务", "=1+1"],
                            ["R2", "001", dt.date(2024, 3, 1), "志愿服务", 2],
                            ["合计", None, None, None, "=SUM(E2:E3)"]])
    r = read_table(p, FIELDS)
    assert found(r) == [("E-TABLE-FORMULA", 2, "数量")]  # the 合计 row is skipped, not read
    d = r.errors[0]
    assert d.message("zh") == "公式没有计算结果：单元格 E2（=1+1）"
    assert d.hint("zh") == "请在 Excel 中打开并保存，或粘贴为数值"
    assert [row["record_id"] for row in r.rows] == ["R2"]


# -- ids and numbers --------------------------------------------------------------------------


def test_ids_typed_as_numbers_come_back_as_text_and_long_ones_are_refused(tmp_path):
    p = workbook(tmp_path, [HEADER, [1.0, 7, dt.date(2024, 3, 1), "志愿服务", None],
                            [110101199003071234, 8, dt.date(2024, 3, 1), "志愿服务", None]])
    r = read_table(p, FIELDS)
    assert r.rows[0]["record_id"] == "1" and r.rows[0]["household"] == "7"
    assert found(r) == [("E-TABLE-ID-DIGITS", 3, "记录编号")]
    assert "格式设为“文本”" in r.errors[0].hint("zh")
    # and as Excel writes such a number into a CSV
    c = tmp_path / "r.csv"
    c.write_text("记录编号,户号,日期,事项\n1.10101E+17,001,2024-03-01,志愿服务\n", encoding="utf-8")
    assert found(read_table(c, FIELDS)) == [("E-TABLE-ID-DIGITS", 2, "记录编号")]


def test_full_width_digits_thousands_and_currency_in_amounts(tmp_path):
    c = tmp_path / "r.csv"
    c.write_text('记录编号,户号,日期,事项,数量\nR1,001,２０２４－３－５,志愿服务,２．５\n'
                 'R2,001,2024.3.5,志愿服务,"1,200"\nR3,001,20240305,志愿服务,￥30\n'
                 'R4,001,2024/3/5 14:30,志愿服务,"1,2"\n', encoding="utf-8")
    r = read_table(c, FIELDS)
    assert [(row["date"], str(row["quantity"])) for row in r.rows] == [
        (dt.date(2024, 3, 5), "2.5"), (dt.date(2024, 3, 5), "1200"), (dt.date(2024, 3, 5), "30")]
    assert found(r) == [("E-TABLE-DECIMAL", 5, "数量")]  # 1,2 is no thousands grouping


# -- the header --------------------------------------------------------------------------------


def test_header_row_can_be_forced_and_a_wrong_one_says_so(tmp_path):
    c = tmp_path / "r.csv"
    c.write_text("说明：事项,户号,日期 按登记簿\n记录编号,户号,日期,事项\nR1,001,2024-03-01,志愿服务\n",
                 encoding="utf-8")
    r = read_table(c, FIELDS)
    assert found(r) == [] and r.header_line == 2
    assert read_table(c, FIELDS, header_row=2).rows == r.rows
    assert fatal(c, header_row=9) == [("E-TABLE-HEADER-ROW", 0, 0)]


def test_strict_columns_refuses_what_the_default_keeps(tmp_path):
    c = tmp_path / "r.csv"
    c.write_text("记录编号,户号,日期,事项,联系电话\nR1,001,2024-03-01,志愿服务,138\n", encoding="utf-8")
    r = read_table(c, FIELDS)
    assert found(r) == [] and r.extras == [{"联系电话": "138"}]
    assert found(read_table(c, FIELDS, strict_columns=True)) == [
        ("E-TABLE-UNKNOWN-COLUMN", 1, "联系电话")]


# -- hostile files ---------------------------------------------------------------------------


def test_a_huge_cell_is_an_error_at_its_row(tmp_path):
    c = tmp_path / "r.csv"
    c.write_text("记录编号,户号,日期,事项\nR1,001,2024-03-01,志愿服务\nR2,001,2024-03-01,"
                 + "x" * 200_000 + "\n", encoding="utf-8")
    assert fatal(c) == [("E-TABLE-CELL-SIZE", 3, 0)]


def test_deeply_nested_json_is_an_error_at_its_line(tmp_path):
    j = tmp_path / "r.jsonl"
    j.write_text('{"记录编号": "R1", "户号": "001", "日期": "2024-03-01", "事项": "x"}\n'
                 + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    r = read_table(j, FIELDS)
    assert found(r) == [("E-TABLE-JSONL", 2, 0)] and len(r.rows) == 1


def test_a_utf8_file_with_one_gbk_row_names_the_row_and_byte(tmp_path):
    c = tmp_path / "r.csv"
    head = "记录编号,户号,日期,事项\nR1,001,2024-03-01,志愿服务\n".encode("utf-8")
    c.write_bytes(head + "R2,001,2024-03-01,义务劳动\n".encode("gbk"))
    ((code, line, _),) = fatal(c)
    assert (code, line) == ("E-TABLE-ENCODING-MIXED", 3)
    with pytest.raises(InputError) as info:
        read_table(c, FIELDS)
    assert info.value.diagnostics[0].args["byte"] == len(head) + len("R2,001,2024-03-01,") + 1


@pytest.mark.parametrize("doctype", [
    # a billion laughs
    b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
    # an external entity (a local file)
    b'<!DOCTYPE w [<!ENTITY c SYSTEM "file:///etc/passwd">]>',
])
def test_xml_entities_in_a_workbook_are_refused(tmp_path, doctype):
    p = workbook(tmp_path, [HEADER, ["R1", "001", "2024-03-01", "志愿服务", 1]])

    def add(xml: bytes) -> bytes:
        xml = xml.replace(b"<worksheet", doctype + b"<worksheet", 1)
        return xml.replace(b"<t>R1</t>", b"<t>&c;</t>")

    rewrite(p, SHEET, add)
    codes = [c for c, _, _ in fatal(p)]
    assert codes == ["E-TABLE-XLSX-UNSAFE"]


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    p = workbook(tmp_path, [HEADER, ["R1", "001", "2024-03-01", "志愿服务", 1]])
    with zipfile.ZipFile(p, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/zeros.bin", b"\0" * (1 << 20))
    monkeypatch.setattr(tables, "MAX_XLSX_UNPACKED", 1 << 19)
    assert fatal(p) == [("E-TABLE-XLSX-SIZE", 0, 0)]


def test_a_sheet_without_a_header_says_which_rows_were_searched(tmp_path):
    p = workbook(tmp_path, [["金钩村积分登记表"]] + [[f"第{i}行", i] for i in range(30)])
    with pytest.raises(InputError) as info:
        read_table(p, FIELDS)
    d = info.value.diagnostics[0]
    assert d.code == "E-TABLE-HEADER-NOT-FOUND"
    assert d.message("zh") == "没有找到表头：第 1–20 行中没有一行包含 记录编号、户号、日期、事项"


# -- fuzz: mutated spreadsheets raise nothing but our errors ----------------------------------

_CELLS = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-10**17, 10**17),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.sampled_from(["合计", "制表人：张三", "=1+1", "2024/3/5", "2024年3月5日", "２", "1,200",
                     "记录编号", "户号", "日期", "事项", "E+17", ""]),
)
_ROWS = st.lists(st.lists(_CELLS, max_size=8), max_size=12)


def _safe_text(v):
    if isinstance(v, str):
        return "".join(ch for ch in v if ch.isprintable()) or None
    return v


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_ROWS, header_at=st.integers(0, 4), as_csv=st.booleans())
def test_fuzzed_sheets_raise_only_our_errors(tmp_path, rows, header_at, as_csv):
    rows = [list(r) for r in rows]
    rows.insert(min(header_at, len(rows)), list(HEADER))
    if as_csv:
        buf = io.StringIO()
        import csv

        w = csv.writer(buf)
        for r in rows:
            w.writerow(["" if c is None else str(c) for c in r])
        p = tmp_path / "f.csv"
        p.write_text(buf.getvalue(), encoding="utf-8")
    else:
        wb = openpyxl.Workbook()
        for r in rows:
            wb.active.append([_safe_text(c) for c in r])
        p = tmp_path / "f.xlsx"
        wb.save(p)
    try:
        r = read_table(p, FIELDS, key="record_id")
    except XiangyueError:
        return
    for row in r.rows:  # every row kept is typed as the fields say
        assert isinstance(row["record_id"], str) and isinstance(row["date"], dt.date)
    json.dumps([d.to_json("zh") for d in r.diagnostics], ensure_ascii=False)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), cut=st.integers(0, 4000))
def test_fuzzed_workbook_bytes_raise_only_our_errors(tmp_path, data, cut):
    p = workbook(tmp_path, [HEADER, ["R1", "001", dt.date(2024, 3, 1), "志愿服务", 1]])
    raw = bytearray(p.read_bytes())
    at = cut % max(1, len(raw))
    raw[at:at + len(data)] = data
    p.write_bytes(bytes(raw))
    try:
        read_table(p, FIELDS)
    except XiangyueError:
        pass


def test_headers_with_spaces_marks_units_and_ids_in_full_width(tmp_path):
    c = tmp_path / "r.csv"
    c.write_text("记录编号*,户　号,日 期,事项,数量（小时）\nＲ１,００１,2024-03-01,志愿服务,2\n",
                 encoding="utf-8")
    r = read_table(c, FIELDS)
    assert found(r) == [] and r.extras == [None]
    assert (r.rows[0]["record_id"], r.rows[0]["household"], str(r.rows[0]["quantity"])) == (
        "R1", "001", "2")


def test_a_formula_whose_result_is_empty_text_is_an_empty_cell(tmp_path):
    p = workbook(tmp_path, [HEADER, ["R1", "001", dt.date(2024, 3, 1), "志愿服务", '=IF(1,"","")']])
    rewrite(p, SHEET, lambda x: x.replace(b'<c r="E2"><f>', b'<c r="E2" t="str"><f>')
            .replace(b"</f><v />", b"</f><v></v>"))
    r = read_table(p, FIELDS)
    assert found(r) == [] and r.rows[0]["quantity"] == 1  # empty: the default


@functools.lru_cache(maxsize=1)
def _rules():
    from xiangyue.rules.pipeline import load_ruleset

    return load_ruleset(Path(__file__).parent / "data" / "jingou.yaml")


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 20)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_ROWS, header_at=st.integers(0, 4), as_csv=st.booleans())
def test_fuzzed_imports_write_all_or_nothing(tmp_path, rows, header_at, as_csv):
    from xiangyue.data.ingest import import_records
    from xiangyue.data.store import open_store

    rs = _rules()
    rows = [list(r) for r in rows]
    rows.insert(min(header_at, len(rows)), list(HEADER))
    if as_csv:
        import csv

        p = tmp_path / "f.csv"
        with p.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            for r in rows:
                w.writerow(["" if c is None else str(c) for c in r])
    else:
        wb = openpyxl.Workbook()
        for r in rows:
            wb.active.append([_safe_text(c) for c in r])
        p = tmp_path / "f.xlsx"
        wb.save(p)
    db = tmp_path / "fuzz.db"
    if db.exists():
        db.unlink()
    with open_store(db) as store:
        try:
            result = import_records(store, p, rs)
        except XiangyueError:
            assert store.count("records") == 0  # nothing half-written
            return
        assert store.count("records") == result.added == result.rows
