"""Readers in one program, a writer in another, on the same database file.

The columnar evaluator reads through ADBC, which links its own copy of SQLite. POSIX locks
belong to the process: when that copy closed its descriptors of the file, the locks the
program's ``sqlite3`` connection held were gone. Another program then found no one holding
the database and rebuilt (truncated) the -shm under a writer's transaction: the writer died
of SIGBUS or failed its COMMIT with "locking protocol", or a reader deleted the -wal. A
reader never breaks nor blocks a writer (issue 14).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from xiangyue import Village
from xiangyue.data.store import StillInUse, open_store, released

JINGOU = Path(__file__).parent.parent / "rulesets" / "examples" / "jingou.yaml"
BOARDS = Path(__file__).parent / "boards"
HEADER = "记录编号,户号,日期,事项,数量,等级,级别,记录人,备注\n"
ACTIVITIES = ("孝老爱亲", "志愿服务", "垃圾分类", "义务劳动", "乱扔垃圾")

# a program storing a run (the ledger written in one transaction): it holds its write
# transaction open, ledger blocks written, until the test says go
_WRITER = """
import sys, time
from pathlib import Path
from xiangyue import Village
from xiangyue.points import ledger

db, rules, ready, go = sys.argv[1:]
real = ledger.blocks.write_blocks

def held(*args, **kwargs):
    real(*args, **kwargs)
    Path(ready).write_text("writing")
    while not Path(go).exists():
        time.sleep(0.02)

ledger.blocks.write_blocks = held
ev = Village(db, rules, engine="fast").evaluate("2024")
print(ev.run_id)
"""


def _village(tmp_path: Path, n: int = 20000) -> Path:
    db = tmp_path / "v.db"
    households = [line.split(",")[0] for line in
                  (BOARDS / "households.csv").read_text(encoding="utf-8").splitlines()[1:]]
    rows = [f"G{i:06d},{households[i % len(households)]},2024-{1 + i % 12:02d}-{1 + i % 28:02d},"
            f"{ACTIVITIES[i % len(ACTIVITIES)]},,,,网格员甲,\n" for i in range(n)]
    records = tmp_path / "records.csv"
    records.write_text(HEADER + "".join(rows), encoding="utf-8")
    village = Village(db, JINGOU)
    village.import_households(BOARDS / "households.csv")
    village.import_records(records)
    return db


def _read(db: Path) -> list:
    ev = Village(db, JINGOU, engine="fast").evaluate("2024", save=False)
    assert ev.engine.engine == "fast"  # read through ADBC
    return [r.to_json() for r in ev.results]


def test_readers_while_another_program_stores_a_run(tmp_path):
    """While another program holds the write transaction of a stored run, evaluations without
    saving (the columnar reader, ADBC) give what a quiet run gives; the writer then commits,
    the file is intact and the run is there."""
    db = _village(tmp_path)
    quiet = _read(db)
    ready, go = tmp_path / "ready", tmp_path / "go"
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(_WRITER), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    writer = subprocess.Popen([sys.executable, str(script), str(db), str(JINGOU), str(ready),
                               str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert writer.poll() is None, writer.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for _ in range(3):  # each reader opens and closes the file: the writer stays whole
            assert _read(db) == quiet
            assert writer.poll() is None
            assert Path(f"{db}-wal").exists() and Path(f"{db}-shm").exists()
    finally:
        go.write_text("go")
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err  # not SIGBUS (-7), not "locking protocol"
    run_id = out.strip()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM runs WHERE run_id = ?",
                            (run_id,)).fetchone() == (1,)
    finally:
        conn.close()
    assert _read(db) == quiet


def test_released_closes_this_programs_connections_and_opens_them_again(tmp_path):
    """``released``: no sqlite3 connection of this program on the file inside the block (so a
    second SQLite library can open and close it), the same stores usable after it; a store
    inside a transaction is not closed (StillInUse) and the columnar reader is not used."""
    db = _village(tmp_path, 50)
    with open_store(db) as a, open_store(db) as b:
        before = a.count("records")
        with released(str(db)):
            with pytest.raises(sqlite3.ProgrammingError):  # closed
                a.conn.execute("SELECT 1")
            with pytest.raises(sqlite3.ProgrammingError):
                b.conn.execute("SELECT 1")
        assert a.count("records") == b.count("records") == before
        with a.transaction():
            with pytest.raises(StillInUse):
                with released(str(db)):
                    pass  # pragma: no cover
            assert b.count("records") == before  # b was not closed either


def test_no_thread_opens_the_file_inside_released(tmp_path):
    """Another thread opening the database while this one is inside ``released`` waits until
    the block ends (its connection's locks would be dropped by the second library's close)."""
    db = _village(tmp_path, 50)
    counted: list[int] = []

    def count() -> None:
        with open_store(db) as store:
            counted.append(store.count("records"))

    with released(str(db)):
        other = threading.Thread(target=count)
        other.start()
        other.join(0.3)
        assert other.is_alive() and counted == []
    other.join()
    assert counted == [50]
