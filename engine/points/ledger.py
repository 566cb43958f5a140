"""The ledger of evaluation runs, kept in the village database.

Three tables (created on first use):

* ``runs``: one row per (rule file version, period): ``run_id`` (derived from the rule file's
  sha256 and the period, so evaluating the same rules for the same period again *replaces*
  that run), the rule file's name/version/sha256, the period, counts, and ``created_at``
  (wall-clock time, the only column that differs between two identical runs).
* ``ledger``: every (record, rule) that applied and every base-points grant, in evaluation
  order (``seq``), with raw and awarded points and the reasons for any difference.
* ``run_totals``: each household's (person's) total, veto and points per rule and category.

Decimals are stored as their exact text, reasons as JSON. A run is written in one
transaction: a reader sees the old run or the new one, never a mix. :func:`dump_run` gives a
text dump of a run without ``created_at``; evaluating the same data twice gives the same dump,
byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from xiangyue.points.results import Evaluation
from xiangyue.rules.model import Ruleset
from xiangyue.periods import Period
from xiangyue.report.jsonout import decimal_text, dumps, loads
from xiangyue.data.store import Store

__all__ = ["run_id_for", "save_run", "read_ledger", "read_totals", "get_run", "list_runs",
           "dump_run"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    village TEXT,
    ruleset_name TEXT,
    ruleset_version TEXT,
    ruleset_sha256 TEXT NOT NULL,
    period TEXT NOT NULL,
    unit TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    unmatched INTEGER NOT NULL,
    not_covered INTEGER NOT NULL,
    invalid INTEGER NOT NULL,
    unknown_households INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    record_id TEXT,
    household TEXT NOT NULL,
    person TEXT,
    date TEXT NOT NULL,
    rule TEXT NOT NULL,
    rule_name TEXT,
    category TEXT,
    raw TEXT NOT NULL,
    awarded TEXT NOT NULL,
    reasons TEXT NOT NULL,
    position TEXT,
    source_file TEXT,
    source_row INTEGER,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS ledger_by_household ON ledger (run_id, household);
CREATE TABLE IF NOT EXISTS run_totals (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    household TEXT NOT NULL,
    person TEXT,
    head TEXT,
    grid TEXT,
    total TEXT NOT NULL,
    vetoed INTEGER NOT NULL,
    by_rule TEXT NOT NULL,
    by_category TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""

LEDGER_COLUMNS = ("run_id", "seq", "record_id", "household", "person", "date", "rule",
                "rule_name", "category", "raw", "awarded", "reasons", "position",
                "source_file", "source_row")
_TOTAL_COLS = ("run_id", "seq", "household", "person", "head", "grid", "total", "vetoed",
               "by_rule", "by_category")


def run_id_for(ruleset: Ruleset, period: Period) -> str:
    """The run's id: the same rule file (by content) and period always give the same id."""
    return hashlib.sha256(f"{ruleset.sha256}\n{period.key}".encode()).hexdigest()[:16]


def _ensure(store: Store) -> None:
    for stmt in _SCHEMA.split(";"):
        if stmt.strip():
            store.conn.execute(stmt)


def save_run(store: Store, ev: Evaluation, *, now: dt.datetime | None = None) -> str:
    """Store ``ev`` (replacing an earlier run of the same rules and period); returns run_id."""
    run_id = run_id_for(ev.ruleset, ev.period)
    created = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    ledger = ev.ledger or []
    with store.transaction():
        _ensure(store)
        conn = store.conn
        for table in ("ledger", "run_totals", "runs"):
            conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        conn.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, ev.ruleset.village, ev.ruleset.name, ev.ruleset.version, ev.ruleset.sha256,
             ev.period.key, ev.unit, ev.record_count, len(ledger), len(ev.unmatched),
             len(ev.not_covered), len(ev.invalid), len(ev.unknown_households), created),
        )
        conn.executemany(
            f"INSERT INTO ledger VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})",
            (
                (run_id, seq, e.record_id, e.household, e.person, e.date.isoformat(), e.rule,
                 e.rule_name, e.category, decimal_text(e.raw), decimal_text(e.awarded),
                 dumps(list(e.reasons), indent=None), e.position, e.file, e.row)
                for seq, e in enumerate(ledger)
            ),
        )
        conn.executemany(
            f"INSERT INTO run_totals VALUES ({', '.join('?' * len(_TOTAL_COLS))})",
            (
                (run_id, seq, r.household, r.person, r.head, r.grid, decimal_text(r.total),
                 int(r.vetoed), dumps(r.by_rule, indent=None), dumps(r.by_category, indent=None))
                for seq, r in enumerate(ev.results)
            ),
        )
    return run_id


def _has_tables(store: Store) -> bool:
    return "runs" in store.db.table_names()


def get_run(store: Store, run_id: str) -> dict[str, Any] | None:
    if not _has_tables(store):
        return None
    rows = list(store.db.query("SELECT * FROM runs WHERE run_id = ?", [run_id]))
    return rows[0] if rows else None


def list_runs(store: Store) -> list[dict[str, Any]]:
    if not _has_tables(store):
        return []
    return list(store.db.query("SELECT * FROM runs ORDER BY period, ruleset_version, run_id"))


def _run_rows(store: Store, table: str, run_id: str, household: str | None) -> list[dict[str, Any]]:
    """A run's rows of ``ledger`` or ``run_totals`` in order; one household's with ``household``."""
    if not _has_tables(store):
        return []
    sql = f"SELECT * FROM {table} WHERE run_id = ?"
    params: list[Any] = [run_id]
    if household is not None:
        sql += " AND household = ?"
        params.append(household)
    return list(store.db.query(sql + " ORDER BY seq", params))


def read_ledger(store: Store, run_id: str, household: str | None = None) -> list[dict[str, Any]]:
    """A run's ledger entries (typed: dates, exact decimals, reasons as dicts), in order;
    only one household's with ``household``."""
    out = _run_rows(store, "ledger", run_id, household)
    for row in out:
        row["date"] = dt.date.fromisoformat(row["date"])
        row["raw"] = Decimal(row["raw"])
        row["awarded"] = Decimal(row["awarded"])
        row["reasons"] = loads(row["reasons"])
    return out


def read_totals(store: Store, run_id: str, household: str | None = None) -> list[dict[str, Any]]:
    """A run's totals per household (person), typed."""
    out = _run_rows(store, "run_totals", run_id, household)
    for row in out:
        row["total"] = Decimal(row["total"])
        row["vetoed"] = bool(row["vetoed"])
        row["by_rule"] = loads(row["by_rule"])
        row["by_category"] = loads(row["by_category"])
    return out


def dump_run(store: Store, run_id: str) -> str:
    """The run's stored rows as text (runs without created_at, totals, ledger), for checking
    that evaluating the same data twice stores the same thing."""
    run = get_run(store, run_id)
    if run is None:
        return ""
    run = {k: v for k, v in run.items() if k != "created_at"}
    lines = [dumps(run, indent=None, sort_keys=True)]
    for table, cols in (("run_totals", _TOTAL_COLS), ("ledger", LEDGER_COLUMNS)):
        cur = store.conn.execute(
            f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ? ORDER BY seq", (run_id,))
        for row in cur:
            lines.append(dumps(list(row), indent=None))
    return "\n".join(lines) + "\n"
