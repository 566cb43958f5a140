"""Imports: all or nothing, idempotent, conflicts and --replace, cases' consistency, concurrency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from xiangyue.errors import InputError, StoreError
from xiangyue.data.ingest import file_sha256, import_cases, import_households, import_records
from xiangyue.rules.model import FieldSpec
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.data.store import open_store

DATA = Path(__file__).parent / "data"
RS = load_ruleset(str(DATA / "jingou.yaml"))
HEADER = "记录编号,户号,日期,事项,数量,等级,级别,记录人,备注\n"
CASE_HEADER = "事项编号,清单事项,标题,金额,步骤,日期,到会人数,应到人数,赞成人数\n"


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "v.db")
    yield s
    s.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def dump(store) -> list[str]:
    """Everything stored, as SQL text (row-identical check)."""
    return list(store.conn.iterdump())


def errors_of(info: pytest.ExceptionInfo) -> list[tuple[str, int, str | int]]:
    return [(d.code, d.line, d.column) for d in info.value.diagnostics if d.severity == "error"]


# -- records ----------------------------------------------------------------------------------


def test_import_records_then_read_them_back(store):
    result = import_records(store, DATA / "records_zh.csv", RS)
    assert (result.rows, result.added, result.unchanged, result.replaced) == (4, 4, 0, 0)
    assert result.warnings == []  # the register is empty: no household check
    rows = list(store.iter_records(RS.fields))
    assert [r["record_id"] for r in rows] == ["R001", "R002", "R003", "R004"]
    assert rows[0]["household"] == "001"
    assert rows[2]["quantity"] == Decimal("0.1")
    raw = store.conn.execute("SELECT household, quantity, date, source_row FROM records "
                             "WHERE record_id = 'R003'").fetchone()
    assert raw == ("001", "0.1", "2024-03-05", 4)
    log = store.imports()
    assert [(x["kind"], x["rows"], x["added"]) for x in log] == [("records", 4, 4)]
    assert log[0]["sha256"] == file_sha256(DATA / "records_zh.csv")


def test_importing_the_same_file_twice_adds_nothing(store):
    import_records(store, DATA / "records_zh.csv", RS)
    before = list(store.iter_records(RS.fields))
    again = import_records(store, DATA / "records_zh.csv", RS)
    assert (again.added, again.unchanged, again.replaced) == (0, 4, 0)
    assert list(store.iter_records(RS.fields)) == before
    assert len(store.imports()) == 2


def test_same_values_written_differently_are_unchanged(store, tmp_path):
    import_records(store, write(tmp_path, "a.csv", HEADER + "R1,001,2024-03-01,志愿服务,1.0,,,,\n"), RS)
    b = write(tmp_path, "b.csv", "record_id,household,date,activity,quantity\n"
              "R1,001,2024-03-01,志愿服务,1\n")
    assert import_records(store, b, RS).unchanged == 1


def test_a_different_row_under_an_existing_id_is_a_conflict_and_nothing_is_written(store, tmp_path):
    import_records(store, DATA / "records_zh.csv", RS)
    before = dump(store)
    p = write(tmp_path, "april.csv", HEADER
              + "R005,002,2024-04-01,志愿服务,2,,,,\n"
              + "R001,001,2024-03-01,志愿服务,4,,,王网格,清扫村道\n"
              + "R002,002,2024-03-02,庭院检查,,良,,考评小组,\n")
    with pytest.raises(InputError) as info:
        import_records(store, p, RS)
    assert errors_of(info) == [("E-IMPORT-CONFLICT", 3, "记录编号"), ("E-IMPORT-CONFLICT", 4, "记录编号")]
    d = info.value.diagnostics[0]
    assert d.message("zh") == "记录编号 R001 已存在且内容不同（数量：3 → 4）"
    assert d.message("en") == "记录编号 R001 already exists with different content (quantity: 3 -> 4)"
    assert "--replace" in d.hint("zh")
    assert dump(store) == before  # R005 was not added either


def test_replace_updates_changed_rows_and_adds_new_ones(store, tmp_path):
    import_records(store, DATA / "records_zh.csv", RS)
    p = write(tmp_path, "fix.csv", HEADER
              + "R001,001,2024-03-01,志愿服务,4,,,王网格,更正\n"
              + "R002,002,2024-03-02,庭院检查,,优,,考评小组,\n"
              + "R005,002,2024-04-01,志愿服务,2,,,,\n")
    result = import_records(store, p, RS, replace=True)
    assert (result.added, result.unchanged, result.replaced) == (1, 1, 1)
    r1 = next(r for r in store.iter_records(RS.fields) if r["record_id"] == "R001")
    assert (r1["quantity"], r1["note"]) == (Decimal(4), "更正")
    assert store.conn.execute("SELECT source_file, source_row FROM records "
                              "WHERE record_id = 'R001'").fetchone() == (str(p), 2)
    assert store.count("records") == 5


def test_a_bad_file_writes_nothing(store, tmp_path):
    import_records(store, DATA / "records_zh.csv", RS)
    before = dump(store)
    p = write(tmp_path, "bad.csv", HEADER + "".join(
        f"R{i:03d}0,001,2024-03-01,志愿服务,1,,,,\n" for i in range(500)) + "R9,001,2024-3-x,x,,,,,\n")
    with pytest.raises(InputError) as info:
        import_records(store, p, RS)
    assert errors_of(info) == [("E-TABLE-DATE", 502, "日期")]
    assert dump(store) == before


def test_db_file_is_byte_identical_after_a_failed_import(tmp_path):
    path = tmp_path / "v.db"
    with open_store(path) as s:
        import_records(s, DATA / "records_zh.csv", RS)
    snapshot = path.read_bytes()
    with open_store(path) as s:
        with pytest.raises(InputError):
            import_records(s, write(tmp_path, "bad.csv", HEADER + "R1,001,2024-02-30,x,,,,,\n"), RS)
        with pytest.raises(InputError):  # a conflict fails inside the write transaction
            import_records(s, write(tmp_path, "c.csv", HEADER + "R001,009,2024-03-01,x,,,,,\n"), RS)
    assert path.read_bytes() == snapshot


def test_unknown_households_are_warnings_once_the_register_exists(store, tmp_path):
    assert import_households(store, DATA / "households.csv", RS).added == 3
    p = write(tmp_path, "r.csv", HEADER + "R1,001,2024-03-01,志愿服务,,,,,\n"
              "R2,099,2024-03-01,志愿服务,,,,,\nR3,099,2024-03-02,志愿服务,,,,,\n"
              "R4,1,2024-03-02,志愿服务,,,,,\n")
    result = import_records(store, p, RS)
    assert result.added == 4
    assert [(d.code, d.line, d.column, d.severity) for d in result.warnings] == [
        ("W-IMPORT-UNKNOWN-HOUSEHOLD", 3, "户号", "warning"),
        ("W-IMPORT-UNKNOWN-HOUSEHOLD", 5, "户号", "warning"),
    ]
    assert result.warnings[0].message("zh") == "户号 099 不在户籍名册中（2 条记录，第一条在第 3 行）"


def test_household_ids_stay_text(store):
    import_households(store, DATA / "households.csv", RS)
    assert store.household_ids() == {"001", "002", "003"}
    assert store.households()[0] == {"household": "001", "head": "张大山", "grid": "一组"}


def test_xlsx_and_jsonl_imports(store, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["记录编号", "户号", "日期", "事项", "数量"])
    ws.append(["X1", 1, dt.date(2024, 6, 1), "垃圾分类", 0.1])
    wb.save(tmp_path / "r.xlsx")
    assert import_records(store, tmp_path / "r.xlsx", RS).added == 1
    assert import_records(store, DATA / "records.jsonl", RS).added == 2
    got = {r["record_id"]: r for r in store.iter_records(RS.fields)}
    assert got["X1"]["household"] == "1" and got["X1"]["quantity"] == Decimal("0.1")
    assert store.conn.execute("SELECT quantity FROM records WHERE record_id='R201'").fetchone() == ("0.1",)


def test_a_newly_declared_field_gets_a_column(store, tmp_path):
    import_records(store, DATA / "records_zh.csv", RS)
    extra = FieldSpec("hours", "decimal", "时长")
    rs2 = dataclasses.replace(RS, fields=RS.fields + (extra,))
    p = write(tmp_path, "r.csv", "记录编号,户号,日期,事项,时长\nR9,001,2024-05-01,志愿服务,2.5\n")
    assert import_records(store, p, rs2).added == 1
    assert "hours" in store.columns("records")
    got = {r["record_id"]: r["hours"] for r in store.iter_records(rs2.fields)}
    assert got == {"R001": None, "R002": None, "R003": None, "R004": None, "R9": Decimal("2.5")}


def test_failed_import_does_not_add_columns_either(store, tmp_path):
    import_records(store, DATA / "records_zh.csv", RS)
    rs2 = dataclasses.replace(RS, fields=RS.fields + (FieldSpec("hours", "decimal", "时长"),))
    p = write(tmp_path, "r.csv", "记录编号,户号,日期,事项,时长\nR001,001,2024-05-01,志愿服务,2.5\n")
    with pytest.raises(InputError):
        import_records(store, p, rs2)
    assert "hours" not in store.columns("records")


# -- cases ------------------------------------------------------------------------------------


def test_import_cases_by_item_id_or_name(store):
    result = import_cases(store, DATA / "cases.csv", RS)
    assert (result.rows, result.added) == (4, 4)
    fields = RS.case_fields
    steps = [(c["case_id"], c["step"], c["item"], c["amount"]) for c in store.iter_cases(fields)]
    assert steps == [
        ("C01", "提议", "major_decision", Decimal(80000)),
        ("C01", "商议", "村级重大事项决策", None),  # stored as given; the checker resolves
        ("C01", "决议", "major_decision", Decimal(80000)),
        ("C02", "经办", "payment", Decimal("3000.50")),
    ]
    assert store.conn.execute("SELECT amount FROM cases WHERE case_id='C02'").fetchone() == ("3000.50",)
    assert import_cases(store, DATA / "cases.csv", RS).unchanged == 4


def test_case_rows_that_disagree_are_errors_naming_both_rows(store, tmp_path):
    p = write(tmp_path, "c.csv", CASE_HEADER
              + "C1,payment,买桶,3000,经办,2024-04-01,,,\n"
              + "C1,allowance,买桶,3000,审批,2024-04-02,,,\n"
              + "C1,payment,买桶,3500,财务公开,2024-04-03,,,\n"
              + "C1,payment,买桶,,经办,2024-04-04,,,\n"
              + "C2,allowance,,,民主评议,2024-04-01,40,30,20\n"
              + "C3,allowance,,,民主评议,2024-04-01,20,30,25\n"
              + "C4,allowance,,abc,申请,2024-04-01,二十,,\n")
    with pytest.raises(InputError) as info:
        import_cases(store, p, RS)
    assert errors_of(info) == [
        ("E-IMPORT-CASE-ITEM", 3, "清单事项"),
        ("E-IMPORT-CASE-AMOUNT", 4, "金额"),
        ("E-IMPORT-CASE-STEP-DUP", 5, "步骤"),
        ("E-IMPORT-CASE-ATTENDED", 6, "到会人数"),
        ("E-IMPORT-CASE-APPROVED", 7, "赞成人数"),
        ("E-TABLE-DECIMAL", 8, "金额"),
        ("E-TABLE-INTEGER", 8, "到会人数"),
    ]
    by = {d.code: d for d in info.value.diagnostics}
    assert by["E-IMPORT-CASE-ITEM"].message("zh") == (
        "事项 C1 的清单事项不一致：第 2 行是“payment”，第 3 行是“allowance”")
    assert by["E-IMPORT-CASE-AMOUNT"].message("en") == (
        "case C1 has different amounts: 3000 in row 2, 3500 in row 4")
    assert by["E-IMPORT-CASE-STEP-DUP"].message("zh") == "事项 C1 的步骤“经办”出现两次：第 2 行和第 5 行"
    assert store.count("cases") == 0


def test_case_steps_added_later_must_agree_with_the_stored_case(store, tmp_path):
    import_cases(store, DATA / "cases.csv", RS)
    p = write(tmp_path, "more.csv", CASE_HEADER
              + "C02,村级财务支出,购买垃圾桶,3000.5,监委会审核,2024-04-03,,,\n"  # same item by name
              + "C01,payment,修建村道,80000,审议,2024-03-10,,,\n")
    with pytest.raises(InputError) as info:
        import_cases(store, p, RS)
    assert errors_of(info) == [("E-IMPORT-CASE-STORED", 3, "清单事项")]
    ok = write(tmp_path, "ok.csv", CASE_HEADER + "C02,村级财务支出,购买垃圾桶,3000.5,监委会审核,2024-04-03,,,\n")
    assert import_cases(store, ok, RS).added == 1


def test_a_changed_case_step_is_a_conflict_unless_replaced(store, tmp_path):
    import_cases(store, DATA / "cases.csv", RS)
    p = write(tmp_path, "c.csv", CASE_HEADER + "C01,major_decision,修建村道,80000,决议,2024-03-21,40,55,36\n")
    with pytest.raises(InputError) as info:
        import_cases(store, p, RS)
    assert errors_of(info) == [("E-IMPORT-CONFLICT", 2, "步骤")]
    assert "日期：2024-03-20 → 2024-03-21" in info.value.diagnostics[0].message("zh")
    assert import_cases(store, p, RS, replace=True).replaced == 1


# -- concurrency ------------------------------------------------------------------------------


def test_two_writers_at_once_never_leave_a_half_import(tmp_path):
    path = tmp_path / "v.db"
    open_store(path).close()
    files = []
    for n in range(2):
        body = "".join(f"T{n}-{i:05d},{i % 50:03d},2024-03-01,志愿服务,1,,,,\n" for i in range(20000))
        files.append(write(tmp_path, f"f{n}.csv", HEADER + body))
    outcome: dict[int, object] = {}
    start = threading.Barrier(2)

    def work(n: int) -> None:
        s = open_store(path, timeout=30)
        try:
            start.wait()
            outcome[n] = import_records(s, files[n], RS).added
        except StoreError as err:
            outcome[n] = err.diagnostics[0].code
        finally:
            s.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(path) as s:
        per_file = {n: s.conn.execute("SELECT count(*) FROM records WHERE record_id LIKE ?",
                                      (f"T{n}-%",)).fetchone()[0] for n in range(2)}
        logged = len(s.imports())
    for n in range(2):
        assert outcome[n] in (20000, "E-STORE-BUSY")
        assert per_file[n] == (20000 if outcome[n] == 20000 else 0)
    assert logged == sum(1 for v in outcome.values() if v == 20000)


def test_a_busy_database_fails_the_import_cleanly(tmp_path):
    import sqlite3

    path = tmp_path / "v.db"
    open_store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with open_store(path, timeout=0.2) as s:
            with pytest.raises(StoreError) as info:
                import_records(s, DATA / "records_zh.csv", RS)
            assert info.value.diagnostics[0].code == "E-STORE-BUSY"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with open_store(path) as s:
        assert s.count("records") == 0 and s.imports() == []


# -- streaming: the file goes in block by block, still all or nothing -------------------------


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 3 rows, so a test file spans several of them."""
    import xiangyue.data.ingest as ingest
    import xiangyue.data.tables as tables

    monkeypatch.setattr(tables, "_CHUNK", 2)
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 3)
    monkeypatch.setattr(ingest, "_ROWS_PER_INSERT", 2)


def rows_csv(n: int, start: int = 0, quantity: str = "1") -> str:
    return "".join(f"R{i:04d},001,2024-03-{1 + i % 28:02d},志愿服务,{quantity},,,,\n"
                   for i in range(start, start + n))


def test_a_big_file_goes_in_block_by_block_and_reads_back_in_order(store, tmp_path, small_blocks):
    p = write(tmp_path, "big.csv", HEADER + rows_csv(11))
    result = import_records(store, p, RS)
    assert (result.rows, result.added) == (11, 11)
    rows = list(store.iter_records(RS.fields))
    assert [r["record_id"] for r in rows] == sorted(
        (f"R{i:04d}" for i in range(11)), key=lambda k: (1 + int(k[1:]) % 28, k))
    assert store.conn.execute("SELECT source_row FROM records WHERE record_id = 'R0010'"
                              ).fetchone() == (12,)
    assert "records_by_date" in {r[1] for r in store.conn.execute("PRAGMA index_list(records)")}
    again = import_records(store, p, RS)
    assert (again.added, again.unchanged) == (0, 11)


def test_an_error_after_blocks_were_written_writes_nothing(store, tmp_path, small_blocks):
    import_records(store, DATA / "records_zh.csv", RS)
    before = dump(store)
    p = write(tmp_path, "late.csv", HEADER + rows_csv(10) + "R9999,001,2024-02-30,x,,,,,\n")
    with pytest.raises(InputError) as info:
        import_records(store, p, RS)
    assert errors_of(info) == [("E-TABLE-DATE-DAY", 12, "日期")]
    assert dump(store) == before


def test_a_conflict_in_a_later_block_writes_nothing(store, tmp_path, small_blocks):
    import_records(store, DATA / "records_zh.csv", RS)
    before = dump(store)
    p = write(tmp_path, "c.csv", HEADER + rows_csv(7)
              + "R001,001,2024-03-01,志愿服务,4,,,王网格,清扫村道\n" + rows_csv(2, 50))
    with pytest.raises(InputError) as info:
        import_records(store, p, RS)
    assert errors_of(info) == [("E-IMPORT-CONFLICT", 9, "记录编号")]
    assert dump(store) == before


def test_keys_repeated_across_blocks_are_all_reported(store, tmp_path, small_blocks):
    import_records(store, DATA / "records_zh.csv", RS)
    before = dump(store)
    p = write(tmp_path, "dup.csv", HEADER
              + "R0001,001,2024-03-01,志愿服务,1,,,,\n"   # 2
              + "R0002,001,2024-3-x,志愿服务,1,,,,\n"     # 3: bad date, key still counts
              + "R001,001,2024-03-01,志愿服务,3,,,王网格,清扫村道\n"  # 4: as stored
              + rows_csv(3, 10)                            # 5-7
              + "R0001,001,2024-03-02,志愿服务,1,,,,\n"   # 8: repeats row 2
              + "R0002,001,2024-03-02,志愿服务,1,,,,\n"   # 9: repeats bad row 3
              + "R001,001,2024-03-01,志愿服务,3,,,王网格,清扫村道\n"  # 10: repeats row 4
              + "R0011,001,2024-03-02,志愿服务,1,,,,\n")  # 11: repeats row 6
    with pytest.raises(InputError) as info:
        import_records(store, p, RS)
    assert errors_of(info) == [
        ("E-TABLE-DATE", 3, "日期"), ("E-TABLE-DUP-KEY", 8, "记录编号"),
        ("E-TABLE-DUP-KEY", 9, "记录编号"), ("E-TABLE-DUP-KEY", 10, "记录编号"),
        ("E-TABLE-DUP-KEY", 11, "记录编号")]
    firsts = [d.args["first"] for d in info.value.diagnostics if d.code == "E-TABLE-DUP-KEY"]
    assert firsts == [2, 3, 4, 6]
    assert dump(store) == before


def test_replace_across_blocks(store, tmp_path, small_blocks):
    import_records(store, write(tmp_path, "a.csv", HEADER + rows_csv(8)), RS)
    p = write(tmp_path, "b.csv", HEADER + rows_csv(8, 4, quantity="2"))
    with pytest.raises(InputError) as info:
        import_records(store, p, RS)
    assert [c for c, _, _ in errors_of(info)] == ["E-IMPORT-CONFLICT"] * 4
    result = import_records(store, p, RS, replace=True)
    assert (result.added, result.unchanged, result.replaced) == (4, 0, 4)
    q = {r["record_id"]: r["quantity"] for r in store.iter_records(RS.fields)}
    assert q["R0003"] == Decimal(1) and q["R0004"] == Decimal(2) and len(q) == 12


def test_a_file_that_is_not_utf8_late_in_the_file_is_read_as_gbk(store, tmp_path, small_blocks):
    text = HEADER + rows_csv(8) + "R0100,001,2024-03-01,志愿服务,1,,,王网格,清扫村道\n"
    p = tmp_path / "gbk.csv"
    p.write_bytes(text.encode("gb18030"))
    assert import_records(store, p, RS).added == 9
    row = next(r for r in store.iter_records(RS.fields) if r["record_id"] == "R0100")
    assert row["note"] == "清扫村道"
