"""Evaluation runs stored in the village database: replaced atomically, byte-identical."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue.points.evaluate import evaluate as _door

from xiangyue.points.inputs import stored_records
from xiangyue.data.ingest import import_households, import_records
from xiangyue.points.ledger import dump_run, get_run, list_runs, read_ledger, read_totals, run_id_for, save_run
from xiangyue.periods import parse_period
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.data.store import open_store


def evaluate(rs, records, households, period, *, with_ledger=True, presorted=False):
    """The reference evaluator through the one evaluation door."""
    from xiangyue.points.inputs import Inputs

    return _door(rs, Inputs(records, households, presorted), period, engine="reference",
                 with_ledger=with_ledger)


FIXTURES = Path(__file__).parent / "evaluate"
JINGOU = Path(__file__).parent.parent / "rulesets" / "examples" / "jingou.yaml"


@pytest.fixture
def village(tmp_path):
    rs = load_ruleset(JINGOU)
    store = open_store(tmp_path / "v.db")
    import_households(store, FIXTURES / "households.csv", rs)
    import_records(store, FIXTURES / "records.csv", rs)
    yield rs, store
    store.close()


def _evaluate(rs, store, period="2024-Q1"):
    p = parse_period(period)
    return evaluate(rs, stored_records(store, rs, p), store.households(rs.household_fields), p,
                    presorted=True)


def test_same_evaluation_twice_is_byte_identical(village):
    rs, store = village
    run_id = save_run(store, _evaluate(rs, store), now=dt.datetime(2024, 4, 1, 8, 0))
    first = dump_run(store, run_id)
    assert save_run(store, _evaluate(rs, store), now=dt.datetime(2024, 4, 2, 9, 0)) == run_id
    assert dump_run(store, run_id) == first
    assert "2024-04-01" not in first  # created_at is left out of the dump
    assert get_run(store, run_id)["created_at"].startswith("2024-04-02")
    assert len(list_runs(store)) == 1


def test_run_id_depends_on_rules_and_period(village):
    rs, store = village
    q1 = save_run(store, _evaluate(rs, store, "2024-Q1"))
    q2 = save_run(store, _evaluate(rs, store, "2024-Q2"))
    assert q1 == run_id_for(rs, parse_period("2024-Q1")) and q1 != q2
    assert [r["period"] for r in list_runs(store)] == ["2024-Q1", "2024-Q2"]


def test_read_back_by_household(village):
    rs, store = village
    run_id = save_run(store, _evaluate(rs, store, "2024-03"))
    rows = read_ledger(store, run_id, household="JG002")
    assert [(r["record_id"], r["rule"], r["raw"], r["awarded"]) for r in rows] == [
        ("R05", "sorting", Decimal("4.5"), Decimal("4.5")),
        ("R06", "sorting", Decimal("1"), Decimal("0.5")),
        ("R07", "courtyard", Decimal("5"), Decimal("5")),
        ("R08", "courtyard", Decimal("-3"), Decimal("0")),
    ]
    assert rows[1]["reasons"] == [{"limit": "cap", "per": "month", "period": "2024-03",
                                   "max": 5, "used": Decimal("4.5"), "left": Decimal("0.5")}]
    assert rows[1]["date"] == dt.date(2024, 3, 6)
    assert rows[1]["source_row"] == 7 and rows[1]["position"].endswith("jingou.yaml:92")
    totals = {t["household"]: (t["total"], t["vetoed"]) for t in read_totals(store, run_id)}
    assert totals == {"JG001": (12, False), "JG002": (10, False), "JG003": (5, True),
                      "JG004": (0, False)}


def test_rerun_replaces_the_old_entries(village, tmp_path):
    rs, store = village
    run_id = save_run(store, _evaluate(rs, store, "2024-03"))
    before = len(read_ledger(store, run_id))
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("记录编号,户号,日期,事项,数量\nR01,JG001,2024-03-01,参加坝坝会,\n",
                     encoding="utf-8")
    with store.transaction():
        store.conn.execute("DELETE FROM records")
    import_records(store, fewer, rs)
    save_run(store, _evaluate(rs, store, "2024-03"))
    after = read_ledger(store, run_id)
    assert before > 1 and [r["record_id"] for r in after] == ["R01"]


def test_a_failed_save_leaves_the_old_run(village, monkeypatch):
    rs, store = village
    ev = _evaluate(rs, store, "2024-03")
    run_id = save_run(store, ev)
    before = dump_run(store, run_id)
    broken = _evaluate(rs, store, "2024-03")
    broken.results[1].total = Decimal("NaN")  # cannot be written: the save must roll back
    with pytest.raises(ValueError):
        save_run(store, broken)
    assert dump_run(store, run_id) == before


def test_reading_a_database_without_runs():
    with open_store(":memory:") as store:
        assert list_runs(store) == [] and read_ledger(store, "x") == [] and dump_run(store, "x") == ""
