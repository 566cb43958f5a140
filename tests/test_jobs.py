"""One door per job (xiangyue.Village): stored runs reused while current and never when stale,
the ledger stored from columns, one household's work for explain, imports all or nothing,
and a run's store waiting for a running import instead of failing."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue import Village
from xiangyue.errors import XiangyueError
from xiangyue.points.ledger import dump_run, get_run
from xiangyue.data.store import open_store

HERE = Path(__file__).parent
JINGOU = HERE.parent / "rulesets" / "examples" / "jingou.yaml"
RECORDS = HERE / "boards" / "records.csv"
HOUSEHOLDS = HERE / "boards" / "households.csv"
HEAD = "记录编号,户号,日期,事项,数量,等级,级别,记录人,备注\n"


@pytest.fixture
def village(tmp_path):
    v = Village(tmp_path / "v.db", JINGOU)
    v.import_households(HOUSEHOLDS)
    v.import_records(RECORDS)
    return v


def _results(ev):
    return [r.to_json() for r in ev.results]


def _issues(ev):
    return [[i.to_json("en") for i in getattr(ev, k)]
            for k in ("unmatched", "not_covered", "invalid", "unknown_households", "pending")]


def test_commands_reuse_the_current_run_and_never_a_stale_one(village, tmp_path):
    ev = village.evaluate("2024-Q1")
    assert ev.run_id is not None and ev.engine.engine == "fast"
    again = village.evaluation("2024-Q1")  # what board, stars, select, publish read
    assert again.run_id == ev.run_id and again.ledger is None  # read back, not evaluated
    assert _results(again) == _results(ev) and _issues(again) == _issues(ev)
    assert village.boards("2024-Q1").to_json() == Village(
        ruleset=JINGOU, records=RECORDS, households=HOUSEHOLDS).boards("2024-Q1").to_json()
    red = [(e.household, e.total) for e in village.boards("2024-Q1").red]
    assert red[0] == ("A01", Decimal(20))
    # one more record: the stored run is stale, board evaluates again and shows it
    more = tmp_path / "more.csv"
    more.write_text(HEAD + "R900,A02,2024-03-05,获得表彰,,,市级,网格员甲,\n", encoding="utf-8")
    village.import_records(more)
    red = [(e.household, e.total) for e in village.boards("2024-Q1").red]
    assert red[0] == ("A02", Decimal(30))  # 15 + 15
    # and the run it stored is the new one
    assert village.evaluation("2024-Q1").result("A02").total == Decimal(30)


def test_a_register_import_makes_the_run_stale(village, tmp_path):
    village.evaluate("2024-Q1")
    hh = tmp_path / "hh.csv"
    hh.write_text(HOUSEHOLDS.read_text(encoding="utf-8").replace("张一", "张壹"),
                  encoding="utf-8")
    village.import_households(hh, replace=True)
    red = village.boards("2024-Q1").red
    assert red[0].head == "张壹"


def test_undoing_an_earlier_batch_makes_the_run_stale(village, tmp_path):
    # the last import id and the last row id stay the same when an earlier batch is undone
    from xiangyue.data.batches import undo_import

    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(HEAD + "R900,A02,2024-03-05,获得表彰,,,市级,网格员甲,\n", encoding="utf-8")
    second.write_text(HEAD + "R901,A03,2024-03-06,志愿服务,,,,网格员甲,\n", encoding="utf-8")
    batch = village.import_records(first).id
    village.import_records(second)
    assert village.boards("2024-Q1").red[0].household == "A02"  # 15 + 15: stored
    with open_store(village.db_path) as store:
        undo_import(store, batch)
    red = [(e.household, e.total) for e in village.boards("2024-Q1").red]
    assert ("A02", Decimal(30)) not in red and red[0] == ("A01", Decimal(20))


def test_stored_runs_are_identical_across_engines(village):
    """The ledger written from columns (fast) is row for row the one written from entries."""
    with open_store(village.db_path) as store:
        dumps = []
        for engine in ("reference", "fast"):
            ev = village.evaluate("2024", engine=engine)
            assert ev.engine.engine == engine
            dumps.append(dump_run(store, ev.run_id))
            assert get_run(store, ev.run_id)["engine"] == engine
    assert dumps[0] == dumps[1]
    assert dumps[0].count("\n") > 40  # runs, totals and every ledger entry


def test_reused_and_fresh_runs_agree_with_the_reference(village):
    fresh = Village(village.db_path, JINGOU, engine="reference").evaluate("2024", save=False)
    village.evaluate("2024")
    reused = village.evaluation("2024")
    assert reused.run_id is not None
    assert _results(reused) == _results(fresh)
    assert _issues(reused) == _issues(fresh)
    assert (reused.record_count, reused.replayed) == (fresh.record_count, fresh.replayed)


def test_explain_reads_one_household_and_tells_the_whole_story(village):
    whole = Village(ruleset=JINGOU, records=RECORDS, households=HOUSEHOLDS)
    for hh in ("A01", "A07", "A13", "A10"):
        one = village.explain(hh, "2024-Q1")
        assert one.to_json("en") == whole.explain(hh, "2024-Q1").to_json("en")
    with pytest.raises(XiangyueError) as err:
        village.explain("ZZZ", "2024-Q1")
    assert err.value.diagnostics[0].code == "E-EXPLAIN-HOUSEHOLD"


def test_a_failed_import_leaves_no_database(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEAD + "R1,A01,2024-02-30,获得表彰,,,市级,网格员甲,\n", encoding="utf-8")
    db = tmp_path / "new.db"
    with pytest.raises(XiangyueError):
        Village(db, JINGOU).import_records(bad)
    assert not any(p.name.startswith("new.db") for p in tmp_path.iterdir())


def test_a_run_waits_for_an_import_instead_of_failing(village):
    """Readers never wait in WAL; storing the run waits for the writer, after saying so."""
    said = []
    holder = sqlite3.connect(village.db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # an import holding the write lock
    release = threading.Timer(1.0, holder.execute, ("COMMIT",))
    release.start()
    try:
        patient = Village(village.db_path, JINGOU, on_wait=lambda: said.append(time.monotonic()))
        ev = patient.evaluate("2024-Q1")
    finally:
        release.join()
        holder.close()
    assert len(said) == 1 and ev.run_id is not None
    assert patient.evaluation("2024-Q1").run_id == ev.run_id


def test_evaluate_without_saving_while_an_import_runs(village):
    holder = sqlite3.connect(village.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        ev = Village(village.db_path, JINGOU, on_wait=pytest.fail).evaluate("2024-Q1",
                                                                            save=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert ev.result("A01").total == Decimal(20)
    assert os.path.exists(village.db_path)


def test_the_fast_readers_leave_this_process_other_connections_alone(village):
    """ADBC links its own SQLite, which cannot see this process's other connections: a
    read-write ADBC connection closing deleted the -wal and -shm files under them (disk I/O
    error on their next use). Its readers open the database read-only."""
    held = sqlite3.connect(village.db_path)  # a clerk's script, or the Store of the command
    try:
        assert held.execute("SELECT count(*) FROM records").fetchone()[0] > 0
        ev = village.evaluate("2024-Q1", save=False)
        assert ev.engine.engine == "fast"
        assert os.path.exists(village.db_path + "-wal") and os.path.exists(village.db_path + "-shm")
        held.execute("CREATE TABLE note (x)")
        held.commit()
        assert village.evaluate("2024-Q1").run_id is not None  # stored, after the other write
    finally:
        held.close()


def test_passbook_of_one_household_is_its_share_of_the_stored_run(village):
    """Village.passbook: one household's entries (evaluated from its own records) are exactly
    the stored run's ledger rows of that household; every household's passbook too."""
    from xiangyue.points.ledger import read_ledger

    [book] = village.passbook("A01", "2024-Q1")
    everyone = village.passbook(None, "2024-Q1")
    with open_store(village.db_path) as store:
        run_id = store.conn.execute("SELECT run_id FROM runs WHERE period = '2024-Q1'").fetchone()[0]
        stored = [(e["record_id"], e["rule"], Decimal(str(e["awarded"])))
                  for e in read_ledger(store, run_id, "A01")]
    assert [(e["record_id"], e["rule"], Decimal(str(e["awarded"]))) for e in book.ledger] == stored
    assert stored and next(b for b in everyone if b.household == "A01").to_json() == book.to_json()
    with pytest.raises(XiangyueError):
        village.passbook("NOBODY", "2024-Q1")


def test_a_reused_run_gives_back_every_figure_of_every_result(village):
    """Every field (sums by rule and category read when first asked, the boards'
    tie-breakers too) equals the evaluation's, whichever evaluator computed it."""
    from dataclasses import fields

    for engine in ("fast", "reference"):
        fresh = village.evaluate("2024", engine=engine)
        reused = village.evaluation("2024")
        assert reused.run_id == fresh.run_id and reused.ledger is None
        assert len(reused.results) == len(fresh.results) > 10
        for a, b in zip(reused.results, fresh.results):
            for f in fields(b):
                assert getattr(a, f.name) == getattr(b, f.name), (b.household, f.name)
            assert a == b and b == a
        assert any(r.by_rule and r.by_category for r in reused.results)
        assert all(type(v) is Decimal for r in reused.results for v in r.by_rule.values())
