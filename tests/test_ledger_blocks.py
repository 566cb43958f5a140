"""A run's ledger stored as compressed Arrow blocks (``ledger_blocks``): read back exactly as
the rows the ``ledger`` table of earlier versions held (each entry's ``entry_row``), from
either evaluator, across block boundaries; databases written by earlier versions (the ledger
as rows of a ``ledger`` table) are still read, published and replaced."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from xiangyue import Village
from xiangyue.data import ledger_blocks as blocks
from xiangyue.data.batches import _publications_using
from xiangyue.data.ingest import import_households, import_records
from xiangyue.data.store import open_store
from xiangyue.periods import parse_period
from xiangyue.points.evaluate import evaluate
from xiangyue.points.inputs import Inputs, stored_records
from xiangyue.points.ledger import (
    dump_run,
    entry_row,
    ledger_rows,
    ledger_sha256,
    read_ledger,
    save_run,
)
from xiangyue.points.publish import list_publications, published_ledger
from xiangyue.rules.pipeline import load_ruleset

HERE = Path(__file__).parent
JINGOU = HERE.parent / "rulesets" / "examples" / "jingou.yaml"
RECORDS = HERE / "boards" / "records.csv"
HOUSEHOLDS = HERE / "boards" / "households.csv"
T1 = dt.datetime(2024, 4, 3, 9, 30, tzinfo=dt.timezone.utc)

#: the ``ledger`` table as earlier versions created it
OLD_LEDGER = """
CREATE TABLE ledger (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, record_id TEXT, household TEXT NOT NULL,
    person TEXT, date TEXT NOT NULL, rule TEXT NOT NULL, rule_name TEXT, category TEXT,
    raw TEXT NOT NULL, awarded TEXT NOT NULL, reasons TEXT NOT NULL, position TEXT,
    source_file TEXT, source_row INTEGER, PRIMARY KEY (run_id, seq)
) WITHOUT ROWID
"""


@pytest.fixture
def rules(tmp_path):
    """The reference village's rules with 60 base points a month: base entries fall between
    the record entries (the first of each month)."""
    path = tmp_path / "jingou.yaml"
    path.write_text(JINGOU.read_text(encoding="utf-8") + "\nbase: {points: 60, per: month}\n",
                    encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path, rules):
    rs = load_ruleset(rules)
    path = tmp_path / "village.db"
    with open_store(path) as store:
        import_households(store, HOUSEHOLDS, rs)
        import_records(store, RECORDS, rs)
    return path


def _evaluate(store, rs, engine, period="2024-Q1"):
    p = parse_period(period)
    ev = evaluate(rs, Inputs(stored_records(store, rs, p), store.households(rs.household_fields),
                             True, store), p, engine=engine, with_ledger=True)
    assert ev.engine.engine == engine
    return ev


def _old_hash(rows):
    """The ledger's sha256 as earlier versions computed it from the ``ledger`` table."""
    h = hashlib.sha256()
    h.update("".join("\x1f".join(map(str, r[1:])) + "\n" for r in rows).encode("utf-8"))
    return h.hexdigest()


@pytest.mark.parametrize("size", [1, 7, blocks.BLOCK])
def test_stored_blocks_are_the_entries_rows_from_both_evaluators(db, rules, monkeypatch, size):
    monkeypatch.setattr(blocks, "BLOCK", size)
    rs = load_ruleset(rules)
    with open_store(db, create=False) as store:
        reference = _evaluate(store, rs, "reference")
        run_id = save_run(store, reference)
        expected = [entry_row(run_id, seq, e) for seq, e in enumerate(reference.ledger)]
        assert any(e.rule == "base" for e in reference.ledger)  # base entries among them
        got = [(run_id, *row) for rows in ledger_rows(store, run_id) for row in rows]
        assert got == expected
        dump = dump_run(store, run_id)
        assert ledger_sha256(store, run_id) == _old_hash(expected)

        fast = _evaluate(store, rs, "fast")
        assert save_run(store, fast) == run_id
        count = store.conn.execute("SELECT count(*), sum(entries) FROM ledger_blocks "
                                   "WHERE run_id = ?", (run_id,)).fetchone()
        assert count[1] == len(expected) and (count[0] > 1) == (size < len(expected))
        got = [(run_id, *row) for rows in ledger_rows(store, run_id) for row in rows]
        assert got == expected
        assert dump_run(store, run_id) == dump
        assert ledger_sha256(store, run_id) == _old_hash(expected)
        one = read_ledger(store, run_id, household="A03")
        assert one == [e for e in read_ledger(store, run_id) if e["household"] == "A03"]
        assert one and {e["household"] for e in one} == {"A03"}


def test_reused_run_is_the_fresh_one(db, rules):
    village = Village(db, rules, engine="fast")
    fresh = village.evaluate("2024-Q1")
    with open_store(db, create=False) as store:
        stored = dump_run(store, fresh.run_id)
    reused = village.evaluation("2024-Q1")
    assert reused.run_id == fresh.run_id and reused.ledger is None
    assert [(r.household, r.total) for r in reused.results] == [
        (r.household, r.total) for r in fresh.results]
    with open_store(db, create=False) as store:
        assert dump_run(store, fresh.run_id) == stored


def _make_old(store, run_id):
    """Turn a stored run into the form earlier versions stored: its ledger as rows of the
    ``ledger`` table (the rows ``entry_row`` gives, as they wrote them), no blocks."""
    rows = [(run_id, *row) for rows in ledger_rows(store, run_id) for row in rows]
    with store.transaction():
        store.conn.execute(OLD_LEDGER)
        store.conn.executemany(f"INSERT INTO ledger VALUES ({', '.join('?' * 15)})", rows)
        store.conn.execute("DROP TABLE ledger_blocks")
    return rows


def test_a_database_of_an_earlier_version_is_read_published_and_replaced(db, rules, tmp_path):
    rs = load_ruleset(rules)
    village = Village(db, rules, engine="fast")
    run_id = village.evaluate("2024-Q1").run_id
    with open_store(db, create=False) as store:
        new_form = (dump_run(store, run_id), ledger_sha256(store, run_id),
                    read_ledger(store, run_id), read_ledger(store, run_id, household="A03"))
        rows = _make_old(store, run_id)
        assert not store.has_table("ledger_blocks")
        assert (dump_run(store, run_id), ledger_sha256(store, run_id),
                read_ledger(store, run_id), read_ledger(store, run_id, household="A03")
                ) == new_form
    # the stored run is still current: published from the old rows
    pub = village.publish("2024-Q1", now=T1).publication
    assert pub.run_id == run_id and pub.ledger_sha256 == new_form[1]
    with open_store(db, create=False) as store:
        published = published_ledger(store, "2024-Q1", 1)
        assert [tuple(e.values())[2:] for e in published] == [r[1:] for r in rows]
        assert _publications_using(store, "records", "record_id = ?", ("R001",)) == [
            "2024-Q1 第 1 版（2024-04-03 发布）"]
    # a late record: evaluating again replaces the old run (its rows copied beside version 1)
    late = tmp_path / "late.csv"
    late.write_text("记录编号,户号,日期,事项,级别\nR100,A09,2024-03-30,获得表彰,县级\n",
                    encoding="utf-8")
    with open_store(db, create=False) as store:
        import_records(store, late, rs)
    again = village.evaluate("2024-Q1")
    with open_store(db, create=False) as store:
        assert store.conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0
        assert published_ledger(store, "2024-Q1", 1) == published
        assert _publications_using(store, "records", "record_id = ?", ("R001",)) == [
            "2024-Q1 第 1 版（2024-04-03 发布）"]
        after = read_ledger(store, again.run_id)
        assert len(after) == len(rows) + 1 and "R100" in {e["record_id"] for e in after}
    v2 = village.publish("2024-Q1", now=T1 + dt.timedelta(days=1)).publication
    with open_store(db, create=False) as store:
        assert [p.version for p in list_publications(store)] == [1, 2]
        assert v2.ledger_sha256 == ledger_sha256(store, again.run_id) != pub.ledger_sha256
        v2_rows = published_ledger(store, "2024-Q1", 2)
    # evaluating again replaces the run in turn: its blocks are copied beside version 2
    village.evaluate("2024-Q1")
    with open_store(db, create=False) as store:
        assert store.conn.execute("SELECT count(*) FROM publication_ledger_blocks WHERE "
                                  "version = 2").fetchone()[0] > 0
        assert published_ledger(store, "2024-Q1", 2) == v2_rows
        assert published_ledger(store, "2024-Q1", 1) == published
        assert _publications_using(store, "records", "record_id = ?", ("R100",)) == [
            "2024-Q1 第 2 版（2024-04-04 发布）"]


def test_a_person_unit_ledger_is_stored_with_its_people(tmp_path):
    rules = HERE.parent / "rulesets" / "examples" / "person.yaml"
    rs = load_ruleset(rules)
    with open_store(tmp_path / "p.db") as store:
        import_records(store, HERE / "evaluate" / "person_records.csv", rs)
        p = parse_period("2024-03")
        evs = {engine: evaluate(rs, Inputs(stored_records(store, rs, p), None, True, store), p,
                                engine=engine, with_ledger=True)
               for engine in ("reference", "fast")}
        assert evs["fast"].engine.engine == "fast"
        expected = [entry_row("", seq, e)[1:] for seq, e in enumerate(evs["reference"].ledger)]
        assert {row[3] for row in expected} >= {"张三", "李四"}  # each entry names its person
        for ev in evs.values():
            run_id = save_run(store, ev)
            assert [row for rows in ledger_rows(store, run_id) for row in rows] == expected
