"""Records import of a clean CSV in bulk (xiangyue.data.bulk): the same database rows, counts,
warnings and messages as the row path; any other file goes the row path. And an evaluation
reading the database while an import runs in another process does not fail."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from xiangyue import Village
from xiangyue.data import bulk, ingest
from xiangyue.data.ingest import import_households, import_records
from xiangyue.data.store import open_store
from xiangyue.errors import InputError
from xiangyue.rules.model import FieldSpec
from xiangyue.rules.pipeline import load_ruleset

DATA = Path(__file__).parent / "data"
RS = load_ruleset(str(DATA / "jingou.yaml"))
JINGOU = Path(__file__).parent.parent / "rulesets" / "examples" / "jingou.yaml"
HEADER = "记录编号,户号,日期,事项,数量,等级,级别,记录人,备注\n"

# clean as the columnar reader takes it: empty quantities (default 1), a quantity written
# 007.50 (stored as Decimal writes it: 7.50), allowed grades and levels, a quoted note with a
# comma, an activity no rule knows (warned), households 004 and 005 not in the register
CLEAN = HEADER + (
    "R001,001,2024-03-01,志愿服务,3,,,王网格,清扫村道\n"
    "R002,002,2024-03-02,庭院检查,,优,,考评小组,\n"
    "R003,001,2024-03-05,垃圾分类,0.1,,,王网格,\n"
    "R004,004,2024-03-09,获得表彰,,,县级,村委会,\"好人好事, 县级\"\n"
    "R005,005,2024-03-10,志原服务,007.50,,,王网格,\n"
    "R006,004,2024-03-11,志原服务,0,,,王网格,\n"
)
REGISTER = "户号,户主,网格\n001,王一,一组\n002,王二,一组\n003,王三,二组\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def stored(db: Path) -> dict[str, list[tuple]]:
    """Every row the import writes (records, imports, removed_rows) and the schema, without
    the clock (imported_at, removed_at): what must be identical between the two paths."""
    out: dict[str, list[tuple]] = {}
    with open_store(db) as store:
        conn = store.conn
        out["schema"] = sorted(conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%'"))
        for table in ("records", "imports", "removed_rows", "households"):
            cur = conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid")
            names = [d[0] for d in cur.description]
            keep = [i for i, n in enumerate(names) if n not in ("imported_at", "removed_at")]
            out[table] = [tuple((type(r[i]).__name__, _timeless(names[i], r[i])) for i in keep)
                          for r in cur]
    return out


def _timeless(column: str, value):
    """An archived row (``removed_rows.row``, JSON) without its clock: the two runs of a test
    may fall on either side of a second."""
    if column != "row":
        return value
    import json

    data = json.loads(value)
    data.pop("imported_at", None)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


@pytest.fixture
def row_path(monkeypatch):
    """Switch the bulk path off (every file the row path)."""
    def off():
        monkeypatch.setattr(bulk, "clean_records", lambda *a, **k: None)
    return off


@pytest.fixture
def bulk_used(monkeypatch):
    """How many imports went the bulk path."""
    used = []
    real = ingest._Import._bulk

    def spy(self, *args):
        n = real(self, *args)
        used.append(n)
        return n
    monkeypatch.setattr(ingest._Import, "_bulk", spy)
    return used


def run_imports(tmp_path: Path, name: str, steps) -> tuple[list, dict]:
    """Run ``steps`` (file, options) into a new database; results as JSON, then what it stores."""
    db = tmp_path / f"{name}.db"
    results = []
    with open_store(db) as store:
        import_households(store, write(tmp_path, "hh.csv", REGISTER), RS)
        for path, options in steps:
            try:
                r = import_records(store, path, RS, **options)
                results.append(r.to_json("en"))
            except InputError as err:
                results.append([d.to_json("en") for d in err.diagnostics])
    return results, stored(db)


def test_a_clean_file_goes_in_bulk_and_stores_what_the_row_path_stores(tmp_path, row_path,
                                                                       bulk_used):
    clean = write(tmp_path, "clean.csv", CLEAN)
    fast = run_imports(tmp_path, "fast", [(clean, {})])
    assert bulk_used == [6]
    row_path()
    slow = run_imports(tmp_path, "slow", [(clean, {})])
    assert fast == slow
    [result], _ = fast
    assert (result["rows"], result["added"]) == (6, 6)
    # worked by hand: the stored text of each quantity, the default for an empty one
    with open_store(tmp_path / "fast.db") as store:
        got = store.conn.execute("SELECT rowid, record_id, quantity, source_row FROM records "
                                 "ORDER BY rowid").fetchall()
    assert got == [(1, "R001", "3", 2), (2, "R002", "1", 3), (3, "R003", "0.1", 4),
                   (4, "R004", "1", 5), (5, "R005", "7.50", 6), (6, "R006", "0", 7)]
    codes = [(w["code"], w["line"]) for w in result["warnings"]]
    assert ("W-IMPORT-UNKNOWN-HOUSEHOLD", 5) in codes and ("W-IMPORT-ACTIVITY", 6) in codes
    unknown = next(w for w in result["warnings"] if w["code"] == "W-IMPORT-UNKNOWN-HOUSEHOLD")
    assert "2 record(s), first in row 5" in unknown["message"]


def test_the_bench_file_is_stored_the_same_by_both_paths(tmp_path, row_path, bulk_used,
                                                        monkeypatch):
    """A bigger clean file (3,000 rows, 37 households none of them in the register, an
    activity no rule knows on every fourth row), read in blocks of a few kB and staged in
    batches of 256 rows: warnings grouped the same way."""
    from xiangyue.points.columnar import csvload

    monkeypatch.setattr(csvload, "BLOCK", 4096)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 256)
    rows = [HEADER.rstrip("\n")]
    acts = ["志愿服务", "垃圾分类", "孝老爱亲", "志原服务"]
    for i in range(3000):
        q = ["", "1.5", "2", "0.25"][i % 4]
        grade = "优" if i % 7 == 0 else ""
        rows.append(f"{i:09d},H{i % 37:03d},2024-{1 + i % 12:02d}-{1 + i % 28:02d},"
                    f"{acts[i % 4]},{q},{grade},,记录员,")
    big = write(tmp_path, "big.csv", "\n".join(rows) + "\n")
    fast = run_imports(tmp_path, "fast", [(big, {})])
    row_path()
    slow = run_imports(tmp_path, "slow", [(big, {})])
    assert bulk_used == [3000]
    assert fast == slow


def test_again_and_replace_take_the_row_path_with_the_same_outcome(tmp_path, row_path,
                                                                   bulk_used):
    """A file whose keys are already stored: the bulk insert is taken back, the row path says
    unchanged / conflict / replaced exactly as before."""
    clean = write(tmp_path, "clean.csv", CLEAN)
    changed = write(tmp_path, "changed.csv", CLEAN.replace("R003,001,2024-03-05,垃圾分类,0.1",
                                                           "R003,001,2024-03-05,垃圾分类,0.2"))
    more = write(tmp_path, "more.csv", HEADER + "R101,001,2024-04-01,志愿服务,2,,,王网格,\n")
    steps = [(clean, {}), (clean, {}), (changed, {}), (changed, {"replace": True}), (more, {})]
    fast = run_imports(tmp_path, "fast", steps)
    assert [n for n in bulk_used if n is not None] == [6, 1]  # the first and the last file
    row_path()
    slow = run_imports(tmp_path, "slow", steps)
    assert fast == slow
    results = fast[0]
    assert results[1]["unchanged"] == 6
    assert results[2][0]["code"] == "E-IMPORT-CONFLICT"
    assert results[3]["replaced"] == 1


@pytest.mark.parametrize("text", [
    CLEAN.replace("2024-03-05", "2024/3/5"),  # a loose date (the row path's own converter)
    CLEAN.replace("王网格,清扫村道", "王网格 ,清扫村道"),  # spaces around a cell
    # the same activity written two ways (a space after it): one warning, counted together
    CLEAN.replace("R006,004,2024-03-11,志原服务", "R006,004,2024-03-11,志原服务 "),
    CLEAN.replace("R003,001", "Ｒ003,００１"),  # full-width digits in the ids
])
def test_cells_the_row_path_reads_loosely_go_in_bulk_with_the_same_outcome(
        tmp_path, row_path, bulk_used, text):
    path = write(tmp_path, "loose.csv", text)
    fast = run_imports(tmp_path, "fast", [(path, {})])
    assert bulk_used == [6]
    row_path()
    assert fast == run_imports(tmp_path, "slow", [(path, {})])


@pytest.mark.parametrize("text", [
    CLEAN.replace(",优,", ",很好,"),  # a grade not allowed: E-TABLE-VALUE
    CLEAN.replace("R002,002,2024-03-02,庭院检查", "R002,002,2024-03-02,"),  # required activity
    CLEAN.replace("R006", "R005"),  # a repeated record id
    CLEAN.replace(",3,", ",-3,"),  # below the quantity's minimum
    "标题\n" + CLEAN,  # a title row
    CLEAN + "合计,,,,,,,,\n",  # a total row
])
def test_any_other_file_goes_the_row_path_with_the_same_messages(tmp_path, row_path,
                                                                 bulk_used, text):
    path = write(tmp_path, "other.csv", text)
    assert bulk.clean_records(path, RS.fields, RS) is None
    fast = run_imports(tmp_path, "fast", [(path, {})])
    row_path()
    assert fast == run_imports(tmp_path, "slow", [(path, {})])
    assert bulk_used == []


def test_an_integer_field_and_a_missing_optional_column(tmp_path, row_path, bulk_used):
    """An integer field (stored as a number, its default for an empty cell, 007 -> 7) and no
    记录人 column at all (its default: empty) in a file that is otherwise clean."""
    rs = dataclasses.replace(RS, fields=RS.fields + (
        FieldSpec("hours", "integer", "时长", default=2),))
    text = ("记录编号,户号,日期,事项,数量,等级,级别,备注,时长\n"
            "R001,001,2024-03-01,志愿服务,3,,,清扫村道,5\n"
            "R002,002,2024-03-02,庭院检查,,优,,,\n"
            "R003,001,2024-03-05,垃圾分类,0.1,,,,007\n"
            "R004,003,2024-03-09,获得表彰,,,县级,,-0\n")

    path = write(tmp_path, "hours.csv", text)

    def go(name):
        db = tmp_path / f"{name}.db"
        with open_store(db) as store:
            r = import_records(store, path, rs)
        return r.to_json("en"), stored(db)

    fast = go("fast")
    row_path()
    assert fast == go("slow")
    assert bulk_used == [4]
    with open_store(tmp_path / "fast.db") as store:
        got = store.conn.execute("SELECT hours, typeof(hours), recorded_by FROM records "
                                 "ORDER BY rowid").fetchall()
    assert got == [(5, "integer", None), (2, "integer", None), (7, "integer", None),
                   (0, "integer", None)]


# -- an evaluation while an import runs in another process -----------------------------------

_IMPORTER = """
import sys, time
from pathlib import Path
from xiangyue import Village
from xiangyue.data import ingest

db, rules, records, ready, go = sys.argv[1:]
real = ingest._Import._write

def held(self, result):
    real(self, result)  # every row written, the transaction not committed yet
    Path(ready).write_text("writing")
    while not Path(go).exists():
        time.sleep(0.02)

ingest._Import._write = held
print(Village(db, rules).import_records(records).added)
"""


def test_evaluate_reads_the_database_while_another_process_imports(tmp_path):
    """Readers never wait in WAL: while another program holds an import's write transaction
    (its rows written, not committed), evaluate without saving reads what was committed
    before; once the import commits, the next evaluation sees its records."""
    db = tmp_path / "v.db"
    village = Village(db, JINGOU)
    village.import_households(Path(__file__).parent / "boards" / "households.csv")
    village.import_records(Path(__file__).parent / "boards" / "records.csv")
    before = [r.to_json() for r in village.evaluate("2024-Q1", save=False).results]
    more = write(tmp_path, "more.csv", HEADER + "".join(
        f"N{i:04d},A01,2024-02-{1 + i % 28:02d},孝老爱亲,,,,网格员甲,\n" for i in range(2000)))
    ready, go = tmp_path / "ready", tmp_path / "go"
    script = write(tmp_path, "importer.py", textwrap.dedent(_IMPORTER))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, str(script), str(db), str(JINGOU), str(more),
                              str(ready), str(go)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        during = Village(db, JINGOU, on_wait=pytest.fail).evaluate("2024-Q1", save=False)
        assert [r.to_json() for r in during.results] == before  # its rows not visible yet
    finally:
        go.write_text("go")
        out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert out.strip() == "2000"
    with open_store(db) as store:
        assert store.conn.execute("SELECT count(*) FROM records WHERE record_id LIKE 'N%'"
                                  ).fetchone()[0] == 2000
    assert Village(db, JINGOU).evaluate("2024-Q1").run_id is not None


def test_a_killed_imports_staging_folder_is_removed_by_a_later_one(tmp_path):
    """The staging copy lives beside the village database; one a killed import left behind
    is removed by the next import once a day old, never one that may be running now."""
    old = tmp_path / f"{bulk.STAGING_PREFIX}dead"
    old.mkdir()
    (old / "staged.db").write_bytes(b"x" * 1000)
    young = tmp_path / f"{bulk.STAGING_PREFIX}running"
    young.mkdir()
    link = tmp_path / f"{bulk.STAGING_PREFIX}link"
    link.symlink_to(old)
    day_ago = time.time() - bulk.STALE_STAGING_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    os.utime(link, (day_ago, day_ago), follow_symlinks=False)
    clean = write(tmp_path, "clean.csv", CLEAN)
    with open_store(tmp_path / "v.db") as store:
        import_households(store, write(tmp_path, "hh.csv", REGISTER), RS)
        assert import_records(store, clean, RS).added == 6
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(bulk.STAGING_PREFIX))
    assert left == [f"{bulk.STAGING_PREFIX}link", f"{bulk.STAGING_PREFIX}running"]
