"""Nothing imported is lost: import batches (list, undo), voided redemptions, backups."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.data.batches import backup, list_imports, undo_import
from xiangyue.data.ingest import import_records
from xiangyue.data.store import open_store
from xiangyue.errors import InputError, XiangyueError
from xiangyue.points.market import balance_of, redeem, void_redemption
from xiangyue.rules.pipeline import load_ruleset

HERE = Path(__file__).parent
JINGOU = str(HERE.parent / "rulesets" / "examples" / "jingou.yaml")
RECORDS = HERE / "boards" / "records.csv"
HOUSEHOLDS = HERE / "boards" / "households.csv"


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "village.db")
    assert run("households", "import", str(HOUSEHOLDS), "-r", JINGOU, "--db", path).exit_code == 0
    assert run("records", "import", str(RECORDS), "-r", JINGOU, "--db", path).exit_code == 0
    return path


def evaluation(db):
    r = run("evaluate", JINGOU, "--db", db, "--period", "2024-Q1", "--format", "json")
    assert r.exit_code == 0, r.output
    return r.stdout


def test_imports_lists_every_batch(db):
    r = run("imports", "--db", db, "--format", "json")
    assert r.exit_code == 0
    batches = json.loads(r.stdout)
    assert [(b["id"], b["kind"], Path(b["file"]).name) for b in batches] == [
        (1, "households", "households.csv"), (2, "records", "records.csv")]
    assert all(set(b) >= {"id", "kind", "file", "sha256", "rows", "imported_at"} for b in batches)
    assert batches[1]["rows"] == len(RECORDS.read_text(encoding="utf-8").splitlines()) - 1
    with open_store(db, create=False) as s:
        assert s.conn.execute("SELECT count(*) FROM records WHERE import_id = 2").fetchone()[0] \
            == batches[1]["rows"]


def test_undo_then_import_again_gives_byte_identical_results(db):
    before = evaluation(db)
    r = run("imports", "undo", "2", "--db", db, "--note", "导错了")
    assert r.exit_code == 0 and "已撤销批次 2" in r.stdout
    with open_store(db, create=False) as s:
        assert s.count("records") == 0
        archived = s.conn.execute("SELECT count(*) FROM removed_rows WHERE reason = 'undo' "
                                  "AND import_id = 2").fetchone()[0]
        assert archived == list_imports(s)[1]["rows"]
        assert list_imports(s)[1]["undo_note"] == "导错了"
    r = run("imports", "undo", "2", "--db", db)  # twice: nothing more
    assert r.exit_code == 0 and "已撤销过" in r.stdout
    assert run("records", "import", str(RECORDS), "-r", JINGOU, "--db", db).exit_code == 0
    assert evaluation(db) == before


def test_undo_of_a_replacing_import_puts_the_replaced_rows_back(db, tmp_path):
    rs = load_ruleset(JINGOU)
    first = RECORDS.read_text(encoding="utf-8").splitlines()
    header, row = first[0], first[1].split(",")
    row[6] = "国家级"  # R001: 获得表彰 市级 (15) typed again as 国家级 (30)
    fix = tmp_path / "fix.csv"
    fix.write_text(header + "\n" + ",".join(row) + "\n", encoding="utf-8")
    before = evaluation(db)
    with open_store(db, create=False) as s:
        result = import_records(s, fix, rs, replace=True)
        assert result.replaced == 1
        assert s.conn.execute("SELECT count(*) FROM removed_rows WHERE reason = 'replace'"
                              ).fetchone()[0] == 1  # the replaced row is kept
    assert evaluation(db) != before
    with open_store(db, create=False) as s:
        undone = undo_import(s, result.id)
    assert (undone.removed, undone.restored) == (1, 1)
    assert evaluation(db) == before


def test_undo_refuses_when_a_published_board_used_the_records_unless_forced(db):
    assert run("publish", JINGOU, "--period", "2024-Q1", "--db", db).exit_code == 0
    r = run("imports", "undo", "2", "--db", db)
    assert r.exit_code == 1
    assert "E-BATCH-PUBLISHED" in r.stderr and "2024-Q1 第 1 版" in r.stderr
    with open_store(db, create=False) as s:
        assert s.count("records") > 0  # nothing removed
    r = run("imports", "undo", "2", "--db", db, "--force")
    assert r.exit_code == 0 and "重新发布该期会生成更正版本" in r.stderr
    r = run("publish", JINGOU, "--period", "2024-Q1", "--db", db)
    assert r.exit_code == 0 and "第 2 版（更正）" in r.stdout


def test_undo_of_an_unknown_batch(db):
    with open_store(db, create=False) as s, pytest.raises(InputError) as info:
        undo_import(s, 99)
    assert info.value.diagnostics[0].code == "E-BATCH-UNKNOWN"
    assert run("imports", "undo", "99", "--db", db).exit_code == 2


def test_void_restores_the_balance_exactly_and_is_a_no_op_the_second_time(db):
    rs = load_ruleset(JINGOU)
    with open_store(db, create=False) as s:
        before = balance_of(s, rs, "A01").available
        first = redeem(s, rs, "A01", "肥皂", qty=2)
        again = redeem(s, rs, "A01", "肥皂", qty=2)  # run twice by mistake
        assert balance_of(s, rs, "A01").available == before - 20
        v = void_redemption(s, rs, again.redemption.redemption_id, note="重复录入")
        assert v.status == "voided" and v.balance_after == before - 10
        assert void_redemption(s, rs, again.redemption.redemption_id).status == "unchanged"
        assert balance_of(s, rs, "A01").available == before - 10
        assert s.conn.execute("SELECT count(*) FROM redemptions").fetchone()[0] == 2  # kept
        void_redemption(s, rs, first.redemption.redemption_id)
        assert balance_of(s, rs, "A01").available == before
        with pytest.raises(InputError):
            void_redemption(s, rs, "nope")
    r = run("balance", JINGOU, "A01", "--db", db)
    assert r.exit_code == 0 and "已作废的兑换" in r.stdout and "重复录入" in r.stdout
    r = run("balance", JINGOU, "A01", "--db", db, "--format", "json")
    voided = json.loads(r.stdout)["voided"]
    assert {v["redemption_id"] for v in voided} == {first.redemption.redemption_id,
                                                    again.redemption.redemption_id}


def test_redeem_void_from_the_command_line(db):
    r = run("redeem", JINGOU, "A01", "肥皂", "--id", "D1", "--db", db)
    assert r.exit_code == 0, r.output
    r = run("redeem", JINGOU, "--void", "D1", "--note", "重复", "--db", db)
    assert r.exit_code == 0 and "已作废兑换 D1" in r.stdout and "退回 5 分" in r.stdout
    r = run("redeem", JINGOU, "--void", "D1", "--db", db)
    assert r.exit_code == 0 and "未做改动" in r.stdout
    assert run("redeem", JINGOU, "--void", "D9", "--db", db).exit_code == 2


def test_backup_opens_and_holds_the_same_rows(db, tmp_path):
    out = tmp_path / "backup.db"
    r = run("backup", str(out), "--db", db)
    assert r.exit_code == 0 and "已备份到" in r.stdout
    src, dst = sqlite3.connect(db), sqlite3.connect(out)
    for table in ("households", "records", "imports"):
        q = f"SELECT * FROM {table} ORDER BY rowid"
        assert src.execute(q).fetchall() == dst.execute(q).fetchall()
    src.close()
    dst.close()
    assert run("backup", str(out), "--db", db).exit_code == 2  # not overwritten
    assert run("backup", str(out), "--db", db, "--force").exit_code == 0
    with pytest.raises(XiangyueError):
        backup(db, db)


def test_backup_while_another_connection_writes(db, tmp_path):
    writer = sqlite3.connect(db, timeout=5, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE households SET head = '改' WHERE household = 'A01'")
    result = backup(db, tmp_path / "b.db")  # the committed state, not the open transaction
    writer.execute("ROLLBACK")
    writer.close()
    assert result.tables["households"] > 0
    con = sqlite3.connect(tmp_path / "b.db")
    assert con.execute("SELECT head FROM households WHERE household = 'A01'").fetchone()[0] != "改"
    con.close()


def test_a_batch_imported_before_batches_were_recorded_can_be_undone(db):
    before = evaluation(db)
    with open_store(db, create=False) as s:  # as an older xiangyue left the rows
        s.conn.execute("UPDATE records SET import_id = NULL")
        result = undo_import(s, 2)
        assert result.removed > 0 and s.count("records") == 0
    assert run("records", "import", str(RECORDS), "-r", JINGOU, "--db", db).exit_code == 0
    assert evaluation(db) == before


def test_many_conflicts_are_one_line_with_the_first_rows_quoted(db, tmp_path):
    lines = RECORDS.read_text(encoding="utf-8").splitlines()
    changed = [lines[0]] + [",".join(r.split(",")[:8] + ["改过"]) for r in lines[1:]]
    p = tmp_path / "changed.csv"
    p.write_text("\n".join(changed) + "\n", encoding="utf-8")
    r = run("records", "import", str(p), "-r", JINGOU, "--db", db)
    assert r.exit_code == 2
    n = len(lines) - 1
    assert f"E-TABLE-SAME: 第 2–{n + 1} 行：" in r.stderr and f"（共 {n} 行）" in r.stderr
    assert r.stderr.count("E-IMPORT-CONFLICT") == 3
