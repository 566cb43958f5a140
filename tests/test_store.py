"""Village database: schema, transactions, busy and broken files, typed reading back."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue.errors import StoreError
from xiangyue.rules.model import FieldSpec
from xiangyue.data.store import SCHEMA_VERSION, from_db, open_store, to_db

FIELDS = (
    FieldSpec("record_id", "text", "记录编号", required=True),
    FieldSpec("household", "text", "户号", required=True),
    FieldSpec("date", "date", "日期", required=True),
    FieldSpec("quantity", "decimal", "数量", default=Decimal(1)),
    FieldSpec("count", "integer", "人数"),
    FieldSpec("done", "boolean", "完成"),
)


def code_of(info: pytest.ExceptionInfo) -> str:
    return info.value.diagnostics[0].code


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "v.db")
    yield s
    s.close()


def put(store, *rows):
    store.ensure_columns("records", FIELDS)
    cols = [f.id for f in FIELDS]
    with store.transaction():
        for row in rows:
            store.conn.execute(
                f"INSERT INTO records ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [to_db(f.type, row.get(f.id)) for f in FIELDS])


def test_new_database_has_the_tables_in_wal_mode(store, tmp_path):
    assert set(store.db.table_names()) >= {"households", "records", "cases", "imports"}
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.columns("cases")[:3] == ["case_id", "step", "item"]
    assert (tmp_path / "v.db").exists()


def test_values_round_trip_exactly():
    assert to_db("decimal", Decimal("0.1")) == "0.1"
    assert to_db("decimal", Decimal("1E+2")) == "100"
    assert from_db("decimal", "0.10") == Decimal("0.10")
    assert to_db("date", dt.date(2024, 3, 1)) == "2024-03-01"
    assert to_db("boolean", True) == 1 and from_db("boolean", 0) is False
    assert to_db("text", "001") == "001" and from_db("text", None) is None


def test_records_come_back_typed_in_date_then_text_order(store):
    put(store,
        {"record_id": "R9", "household": "001", "date": dt.date(2024, 3, 2),
         "quantity": Decimal("0.1"), "count": 3, "done": True},
        {"record_id": "R10", "household": "002", "date": dt.date(2024, 3, 2)},
        {"record_id": "R2", "household": "001", "date": dt.date(2024, 3, 1)},
        {"record_id": "R1", "household": "003", "date": dt.date(2024, 4, 1)})
    it = store.iter_records(FIELDS)
    assert not isinstance(it, list)  # streamed
    rows = list(it)
    assert [r["record_id"] for r in rows] == ["R2", "R10", "R9", "R1"]  # "R10" < "R9" as text
    r9 = rows[2]
    assert r9 == {"record_id": "R9", "household": "001", "date": dt.date(2024, 3, 2),
                  "quantity": Decimal("0.1"), "count": 3, "done": True}
    assert rows[1]["quantity"] == Decimal(1)  # NULL reads as the default
    march = store.iter_records(FIELDS, dt.date(2024, 3, 2), dt.date(2024, 3, 31))
    assert [r["record_id"] for r in march] == ["R10", "R9"]


def test_a_field_without_a_column_reads_as_its_default(store):
    put(store, {"record_id": "R1", "household": "001", "date": dt.date(2024, 3, 1)})
    extra = FIELDS + (FieldSpec("grade", "text", "等级", default="良"),)
    assert next(store.iter_records(extra))["grade"] == "良"
    assert store.ensure_columns("records", extra) == ["grade"]
    assert "grade" in store.columns("records")
    assert store.ensure_columns("records", extra) == []


def test_a_field_named_like_a_bookkeeping_column_is_refused(store):
    with pytest.raises(StoreError) as info:
        store.ensure_columns("records", (FieldSpec("source_row", "text"),))
    assert code_of(info) == "E-STORE-COLUMN"


def test_households_and_cases_read_back(store):
    with store.transaction():
        store.conn.execute("INSERT INTO households (household, head, grid) VALUES ('002', '李', '二组')")
        store.conn.execute("INSERT INTO households (household, head, grid) VALUES ('001', '张', '一组')")
        store.conn.execute("INSERT INTO cases (case_id, step, item, amount, date, source_row) "
                           "VALUES ('C1', '决议', 'payment', '80000.00', '2024-03-20', 3)")
        store.conn.execute("INSERT INTO cases (case_id, step, item, amount, date, source_row) "
                           "VALUES ('C1', '提议', 'payment', '80000.00', '2024-03-01', 2)")
    assert store.households() == [{"household": "001", "head": "张", "grid": "一组"},
                                  {"household": "002", "head": "李", "grid": "二组"}]
    assert store.household_ids() == {"001", "002"}
    fields = (FieldSpec("case_id", "text"), FieldSpec("step", "text"),
              FieldSpec("amount", "decimal"), FieldSpec("date", "date"))
    steps = list(store.iter_cases(fields))
    assert [s["step"] for s in steps] == ["提议", "决议"]
    assert steps[0]["amount"] == Decimal("80000.00")


def test_transaction_rolls_back_everything_including_sqlite_utils_writes(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.db["ledger"].insert({"run": "x", "points": "1.5"})
            store.conn.execute("INSERT INTO households (household) VALUES ('001')")
            raise RuntimeError("boom")
    assert store.count("households") == 0
    assert "ledger" not in store.db.table_names()


def test_nested_transaction_is_a_savepoint(store):
    with store.transaction():
        store.conn.execute("INSERT INTO households (household) VALUES ('001')")
        with pytest.raises(ValueError):
            with store.transaction():
                store.conn.execute("INSERT INTO households (household) VALUES ('002')")
                raise ValueError
    assert store.household_ids() == {"001"}


def test_busy_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "v.db"
    open_store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        s = open_store(path, timeout=0.2)
        with pytest.raises(StoreError) as info:
            with s.transaction():
                s.conn.execute("INSERT INTO households (household) VALUES ('001')")
        assert code_of(info) == "E-STORE-BUSY"
        assert info.value.diagnostics[0].message("zh") == "数据库正忙，请稍后重试"
        assert info.value.diagnostics[0].message("en") == "database is busy, try again"
        s.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_missing_database_without_create(tmp_path):
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "none.db", create=False)
    assert code_of(info) == "E-STORE-MISSING"
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("content", [
    b"household,head\n001,Zhang\n" * 20,
    b"SQLite format 3\x00" + b"\xff" * 200,
    b"SQLite format 3\x00" + bytes(range(256)) * 16,
    b"abc",
])
def test_a_file_that_is_not_a_database_is_refused_and_left_untouched(tmp_path, content):
    p = tmp_path / "village.db"
    p.write_bytes(content)
    with pytest.raises(StoreError) as info:
        open_store(p)
    assert code_of(info) in {"E-STORE-NOT-DB", "E-STORE-CORRUPT"}
    assert p.read_bytes() == content
    assert sorted(x.name for x in tmp_path.iterdir()) == ["village.db"]


def test_a_directory_or_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(StoreError) as info:
        open_store(tmp_path)
    assert code_of(info) == "E-STORE-OPEN"
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "no" / "such" / "v.db")
    assert code_of(info) == "E-STORE-OPEN"


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    p = tmp_path / "v.db"
    conn = sqlite3.connect(p)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError) as info:
        open_store(p)
    assert code_of(info) == "E-STORE-NEWER"


def _version_one(p):
    """A database as the previous version left it: one household, layout version 1."""
    with open_store(p) as s:
        with s.transaction():
            s.conn.execute("INSERT INTO households (household) VALUES ('001')")
        s.conn.execute("PRAGMA user_version = 1")
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return p


def test_an_earlier_version_database_is_made_current_when_opened(tmp_path):
    p = _version_one(tmp_path / "v.db")
    with open_store(p) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert s.conn.execute("SELECT household FROM households").fetchall() == [("001",)]


def test_an_earlier_version_database_that_cannot_be_written_is_read_as_it_is(tmp_path):
    # a county reviewer's read-only copy of a village database made by the previous version
    import shutil
    import subprocess

    p = _version_one(tmp_path / "v.db")
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(p)], capture_output=True).returncode:
        pytest.skip("no way to make a file read-only for this user here (chattr +i)")
    try:
        with open_store(p, create=False) as s:
            assert s.conn.execute("SELECT household FROM households").fetchall() == [("001",)]
            assert s.conn.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        subprocess.run([chattr, "-i", str(p)], capture_output=True)


def test_reopening_keeps_the_data(tmp_path):
    with open_store(tmp_path / "v.db") as s:
        with s.transaction():
            s.conn.execute("INSERT INTO households (household) VALUES ('001')")
    with open_store(tmp_path / "v.db", create=False) as s:
        assert s.household_ids() == {"001"}
        assert s.imports() == []


def test_store_error_has_no_traceback_worthy_message(tmp_path):
    p = tmp_path / "x.db"
    p.write_text("not a db " * 10)
    with pytest.raises(StoreError) as info:
        open_store(p)
    d = info.value.diagnostics[0]
    assert d.message("zh") == f"{p} 不是乡约数据库（SQLite）文件"
    assert "--db" in d.hint("en")


def test_read_only_database_file(tmp_path):
    import os

    p = tmp_path / "v.db"
    open_store(p).close()
    os.chmod(p, 0o444)
    try:
        if os.access(p, os.W_OK):
            pytest.skip("running as a user who can write read-only files (root)")
        with pytest.raises(StoreError) as info:
            s = open_store(p)
            with s.transaction():
                s.conn.execute("INSERT INTO households (household) VALUES ('001')")
        assert code_of(info) in {"E-STORE-READONLY", "E-STORE-OPEN"}
    finally:
        os.chmod(p, 0o644)


def test_path_objects_and_strings_both_work(tmp_path):
    with open_store(str(tmp_path / "a.db")) as a, open_store(Path(tmp_path / "b.db")) as b:
        assert a.count("records") == b.count("records") == 0


def test_a_bug_in_sql_is_not_disguised_as_a_user_error(store):
    with pytest.raises(sqlite3.OperationalError):
        with store.transaction():
            store.conn.execute("INSERT INTO households (household) VALUES ('001')")
            store.conn.execute("SELECT no_such_column FROM households")
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction():
            store.conn.execute("INSERT INTO households (household) VALUES ('001')")
            store.conn.execute("INSERT INTO households (household) VALUES ('001')")
    assert store.count("households") == 0
