"""The ledger of evaluation runs, kept in the village database.

Three tables (created on first use):

* ``runs``: one row per (rule file version, period): ``run_id`` (derived from the rule file's
  sha256 and the period, so evaluating the same rules for the same period again *replaces*
  that run), the rule file's name/version/sha256, the period, counts, and ``created_at``
  (wall-clock time, the only column that differs between two identical runs).
* ``ledger_blocks``: the ledger, every (record, rule) that applied and every base-points
  grant, in evaluation order (``seq``), with raw and awarded points and the reasons for any
  difference, as compressed Arrow blocks (:mod:`xiangyue.data.ledger_blocks`); databases
  of earlier versions hold it as rows of a ``ledger`` table, still read.
* ``run_totals``: each household's (person's) total, veto and points per rule and category.
* ``run_issues``: the records the run lists (unmatched, not covered, invalid, unknown
  household), so a stored run gives back the whole :class:`Evaluation` but the ledger.

A run also records what it read (``inputs``: the imports log, the records table and the
register, see :func:`inputs_key`) and which evaluator computed it. :func:`current_run` finds
the stored run of a rule file and period only while that key still holds: a later import
makes it stale, and commands evaluate again (never a stale answer).

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

from typing import Callable, Iterator

from xiangyue.errors import Diagnostic
from xiangyue.points.results import (EngineChoice, Evaluation, LazySumsResult, LedgerEntry,
                                     RecordIssue, UnitResult)
from xiangyue.rules.model import Ruleset
from xiangyue.periods import Period
from xiangyue.report.jsonout import decimal_text, dumps, dumps_records, loads
from xiangyue.data.store import Store
from xiangyue.data import ledger_blocks as blocks
from xiangyue.data.ledger_blocks import ledger_blocks_of, ledger_rows

__all__ = ["run_id_for", "save_run", "read_ledger", "read_totals", "get_run", "list_runs",
           "dump_run", "inputs_key", "current_run", "load_run", "entry_row", "ledger_sha256",
           "ledger_rows", "ledger_blocks_of"]

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
CREATE TABLE IF NOT EXISTS run_issues (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT,
    household TEXT,
    date TEXT,
    activity TEXT,
    source_file TEXT,
    source_row INTEGER,
    rule TEXT,
    diagnostic TEXT,
    reason TEXT,
    PRIMARY KEY (run_id, seq)
);
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
# columns added after the first release (ALTER TABLE on older databases)
_ADDED = {"runs": (("inputs", "TEXT"), ("replayed", "INTEGER"), ("engine", "TEXT")),
          "run_totals": (("vetoes", "TEXT"), ("more", "TEXT")),
          "run_issues": (("reason", "TEXT"),)}
#: what a run stores; a run stored in another layout is not reused (part of its inputs key)
_LAYOUT = 2
_ISSUE_KINDS = ("unmatched", "not_covered", "invalid", "unknown_households", "pending")
_ISSUE_KIND = {"unmatched": "unmatched", "not_covered": "not_covered", "invalid": "invalid",
               "unknown_households": "unknown_household", "pending": "pending"}


def run_id_for(ruleset: Ruleset, period: Period) -> str:
    """The run's id: the same rule file (by content) and period always give the same id."""
    return hashlib.sha256(f"{ruleset.sha256}\n{period.key}".encode()).hexdigest()[:16]


def _ensure(store: Store) -> None:
    store.create_tables(_SCHEMA + blocks.SCHEMA_SQL)
    # Older databases: a second index on a million-entry ledger doubled the cost of storing
    # and replacing a run; one household's entries are read by evaluating it (explain).
    store.conn.execute("DROP INDEX IF EXISTS ledger_by_household")
    for table, cols in _ADDED.items():
        have = set(store.columns(table))
        for name, kind in cols:
            if name not in have:
                store.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def inputs_key(store: Store, households_file: str | None = None) -> str:
    """What a run read, as one text: the last import of records or households (the imports
    log) and how many of them were undone, the records table's last row id, and the register
    (the database's, or the sha256 of a register file given instead), and this package's
    version. Any import or undo changes it (undoing an earlier batch changes neither the last
    import nor the last row id), so a run stored under another key is stale."""
    from xiangyue import __version__

    conn = store.conn
    last, undone = conn.execute(
        "SELECT max(id), count(undone_at) FROM imports WHERE kind IN ('records', 'households')"
    ).fetchone()
    top = conn.execute("SELECT max(rowid) FROM records").fetchone()[0]
    register = "db"
    if households_file is not None:
        h = hashlib.sha256()
        with open(households_file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        register = "file:" + h.hexdigest()
    return (f"v{__version__}/{_LAYOUT};imports:{last};undone:{undone};records:{top};"
            f"register:{register}")


def entry_row(run_id: str, seq: int, e: LedgerEntry) -> tuple:
    """One ledger entry as a row of the ``ledger`` table."""
    return (run_id, seq, e.record_id, e.household, e.person, e.date.isoformat(), e.rule,
            e.rule_name, e.category, decimal_text(e.raw), decimal_text(e.awarded),
            dumps_records(e.reasons), e.position, e.file, e.row)


def save_run(store: Store, ev: Evaluation, *, now: dt.datetime | None = None,
             inputs: str | None = None, remember: str | None = None,
             on_wait: Callable[[], None] | None = None) -> str:
    """Store ``ev`` (replacing an earlier run of the same rules and period); returns run_id.

    ``inputs``: the :func:`inputs_key` the evaluation read (a run stored without one is never
    reused). ``remember``: the rule file's path, remembered in the same transaction. The write
    lock is the only one an evaluation takes: when another program holds it, ``on_wait`` is
    called once and the store waits (:meth:`Store.transaction` ``patient``).

    The ledger is stored as compressed Arrow blocks (:mod:`xiangyue.data.ledger_blocks`);
    a ledger that gives its blocks from its columns (the columnar evaluator's,
    ``arrow_blocks``) does so: no entry object is built."""
    run_id = run_id_for(ev.ruleset, ev.period)
    created = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    ledger = ev.ledger if ev.ledger is not None else []
    with store.transaction(on_wait=on_wait):
        _ensure(store)
        conn = store.conn
        _keep_published(store, run_id)
        for table in ("ledger_blocks", "run_totals", "runs", "run_issues"):
            conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        if store.has_table("ledger"):  # the run as an earlier version stored it
            conn.execute("DELETE FROM ledger WHERE run_id = ?", (run_id,))
        conn.execute(
            "INSERT INTO runs (run_id, village, ruleset_name, ruleset_version, ruleset_sha256, "
            "period, unit, record_count, entries, unmatched, not_covered, invalid, "
            "unknown_households, created_at, inputs, replayed, engine) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, ev.ruleset.village, ev.ruleset.name, ev.ruleset.version, ev.ruleset.sha256,
             ev.period.key, ev.unit, ev.record_count, len(ledger), len(ev.unmatched),
             len(ev.not_covered), len(ev.invalid), len(ev.unknown_households), created,
             inputs, ev.replayed, ev.engine.engine if ev.engine is not None else None),
        )
        arrow_blocks = getattr(ledger, "arrow_blocks", None)
        blocks.write_blocks(conn, "ledger_blocks", (run_id,),
                            arrow_blocks(blocks.BLOCK) if arrow_blocks is not None else
                            blocks.from_rows((entry_row(run_id, seq, e)[1:]
                                              for seq, e in enumerate(ledger)), blocks.BLOCK))
        conn.executemany(
            f"INSERT INTO run_totals ({', '.join(_TOTAL_COLS)}, vetoes, more) "
            f"VALUES ({', '.join('?' * (len(_TOTAL_COLS) + 2))})",
            (
                (run_id, seq, r.household, r.person, r.head, r.grid, decimal_text(r.total),
                 int(r.vetoed), dumps(r.by_rule, indent=None), dumps(r.by_category, indent=None),
                 dumps([dict(v) for v in r.vetoes], indent=None) if r.vetoes else "[]",
                 dumps(_more(r), indent=None))
                for seq, r in enumerate(ev.results)
            ),
        )
        issues = [(kind, i) for kind in _ISSUE_KINDS for i in getattr(ev, kind)]
        conn.executemany(
            "INSERT INTO run_issues (run_id, seq, kind, record_id, household, date, activity, "
            "source_file, source_row, rule, diagnostic, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (run_id, seq, kind, i.record_id, i.household,
                 i.date.isoformat() if isinstance(i.date, dt.date) else i.date,
                 dumps(i.activity, indent=None), i.file, i.row, i.rule,
                 None if i.diagnostic is None else dumps(_diag_json(i.diagnostic), indent=None),
                 i.reason)
                for seq, (kind, i) in enumerate(issues)
            ),
        )
        if remember:
            from xiangyue.data.workspace import remember_ruleset

            remember_ruleset(conn, remember)
    return run_id


def _more(r: UnitResult) -> dict[str, Any]:
    """A result's figures besides total, rules and categories (earned, deducted, base, the
    records scored and the last one's date: the boards' tie-breakers)."""
    return {"earned": r.earned, "deducted": r.deducted, "base": r.base, "records": r.records,
            "last_date": r.last_date}


def _keep_published(store: Store, run_id: str) -> None:
    """Before a run is replaced: copy its ledger beside every published version made from it
    (``publication_ledger_blocks``), so the points behind a published board stay on record.
    Publishing itself copies nothing (:func:`xiangyue.points.publish.publish_boards`)."""
    if not store.has_table("publications"):
        return
    conn = store.conn
    legacy = store.has_table("ledger") and conn.execute(
        "SELECT 1 FROM ledger WHERE run_id = ? LIMIT 1", (run_id,)).fetchone() is not None
    for period, version in conn.execute("SELECT period, version FROM publications "
                                        "WHERE run_id = ?", (run_id,)).fetchall():
        if blocks.published_copy(store, period, version):
            continue
        if legacy:  # a run stored by an earlier version: its rows copied as blocks
            blocks.write_blocks(conn, "publication_ledger_blocks", (period, version),
                                ledger_blocks_of(store, run_id))
        else:
            blocks.copy_blocks(conn, run_id, period, version)



def _diag_json(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "file": d.file, "line": d.line, "column": d.column,
            "args": d.args, "severity": d.severity}


def current_run(store: Store, ruleset: Ruleset, period: Period, inputs: str) -> str | None:
    """The id of the stored run of ``ruleset`` and ``period`` when it read exactly ``inputs``
    (:func:`inputs_key`), else None (no run, or a stale one)."""
    if not _has_tables(store) or "inputs" not in store.columns("runs"):
        return None
    run_id = run_id_for(ruleset, period)
    row = store.conn.execute("SELECT inputs FROM runs WHERE run_id = ? AND ruleset_sha256 = ? "
                             "AND period = ?", (run_id, ruleset.sha256, period.key)).fetchone()
    return run_id if row is not None and row[0] == inputs else None


class _StoredResult(LazySumsResult):
    """A stored run's result: its ``by_rule``/``by_category`` JSON texts parsed when first
    read (the boards read totals only)."""

    __slots__ = ()

    def _build(self) -> None:
        by_rule, by_category = self._src
        self._src = None
        self._rule_d, self._cat_d = _exact(loads(by_rule)), _exact(loads(by_category))


def _exact(d: dict[str, Any]) -> dict[str, Decimal]:
    return {k: v if isinstance(v, Decimal) else Decimal(v) for k, v in d.items()}


def load_run(store: Store, run_id: str, ruleset: Ruleset, period: Period) -> Evaluation:
    """A stored run as an :class:`Evaluation` (results, vetoes, listed records and counts;
    ``ledger`` None: read it with :func:`read_ledger`). The results' sums by rule and category
    are parsed when first read."""
    run = get_run(store, run_id)
    if run is None:
        raise KeyError(run_id)
    results: list[UnitResult] = []
    new = object.__new__
    date = dt.date.fromisoformat
    cur = store.conn.execute(
        "SELECT household, person, head, grid, total, vetoed, by_rule, by_category, vetoes, "
        "more FROM run_totals WHERE run_id = ? ORDER BY seq", (run_id,))
    rows = cur.fetchall()
    # each row's `more` (a small JSON object) parsed in one call: one decoder run, not 20,000
    mores = loads("[" + ",".join([row[9] for row in rows]) + "]") if rows else []
    for (hh, person, head, grid, total, vetoed, by_rule, by_category, vetoes, _more), m in zip(
            rows, mores):
        r = new(_StoredResult)
        r._src = (by_rule, by_category)
        r.household, r.person, r.head, r.grid = hh, person, head, grid
        r.total, r.vetoed = Decimal(total), bool(vetoed)
        r.vetoes = loads(vetoes) if vetoes and vetoes != "[]" else []
        r.earned, r.deducted = Decimal(m["earned"]), Decimal(m["deducted"])
        r.base, r.records = Decimal(m["base"]), m["records"]
        day = m.get("last_date")
        r.last_date = date(day) if day else None
        results.append(r)
    issues: dict[str, list[RecordIssue]] = {k: [] for k in _ISSUE_KINDS}
    cur = store.conn.execute(
        "SELECT kind, record_id, household, date, activity, source_file, source_row, rule, "
        "diagnostic, reason FROM run_issues WHERE run_id = ? ORDER BY seq", (run_id,))
    for kind, rid, hh, day, activity, file, line, rule, diag, reason in cur:
        d = None
        if diag is not None:
            dj = loads(diag)
            d = Diagnostic(dj["code"], file=dj["file"], line=dj["line"], column=dj["column"],
                           args=dj["args"], severity=dj["severity"])
        issues[kind].append(RecordIssue(_ISSUE_KIND[kind], rid, hh,
                                        dt.date.fromisoformat(day) if day else None,
                                        loads(activity) if activity is not None else None,
                                        file, line, rule, d, reason))
    ev = Evaluation(period=period, ruleset=ruleset, results=results, ledger=None,
                    unmatched=issues["unmatched"], not_covered=issues["not_covered"],
                    invalid=issues["invalid"], unknown_households=issues["unknown_households"],
                    record_count=run["record_count"], replayed=run.get("replayed") or 0,
                    engine=EngineChoice(run.get("engine") or "reference"),
                    pending=issues["pending"])
    ev.run_id = run_id
    return ev


def _has_tables(store: Store) -> bool:
    return store.has_table("runs")


def get_run(store: Store, run_id: str) -> dict[str, Any] | None:
    if not _has_tables(store):
        return None
    rows = list(store.query("SELECT * FROM runs WHERE run_id = ?", [run_id]))
    return rows[0] if rows else None


def list_runs(store: Store) -> list[dict[str, Any]]:
    if not _has_tables(store):
        return []
    return list(store.query("SELECT * FROM runs ORDER BY period, ruleset_version, run_id"))


def _run_rows(store: Store, table: str, run_id: str, household: str | None) -> list[dict[str, Any]]:
    """A run's rows of ``run_totals`` in order; one household's with ``household``."""
    if not _has_tables(store):
        return []
    sql = f"SELECT * FROM {table} WHERE run_id = ?"
    params: list[Any] = [run_id]
    if household is not None:
        sql += " AND household = ?"
        params.append(household)
    return list(store.query(sql + " ORDER BY seq", params))


def read_ledger(store: Store, run_id: str, household: str | None = None) -> list[dict[str, Any]]:
    """A run's ledger entries (typed: dates, exact decimals, reasons as dicts), in order;
    only one household's with ``household``."""
    out = [dict(zip(LEDGER_COLUMNS, (run_id, *row)))
           for rows in ledger_rows(store, run_id, household) for row in rows]
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
    # bookkeeping, not results: when, from which imports, by which (equivalent) evaluator
    run = {k: v for k, v in run.items() if k not in ("created_at", "inputs", "engine")}
    lines = [dumps(run, indent=None, sort_keys=True)]
    cur = store.conn.execute(
        f"SELECT {', '.join(_TOTAL_COLS)} FROM run_totals WHERE run_id = ? ORDER BY seq",
        (run_id,))
    for row in cur:
        lines.append(dumps(list(row), indent=None))
    for rows in ledger_rows(store, run_id):
        lines.extend(dumps([run_id, *row], indent=None) for row in rows)
    return "\n".join(lines) + "\n"


def ledger_sha256(store: Store, run_id: str) -> str:
    """The sha256 of a stored run's ledger: every row (without the run id) in order, its
    values (``str``) joined by unit separators, one line each. Read a block at a time and
    hashed in Arrow, so a million entries cost no entry objects."""
    if _has_tables(store) and blocks.legacy_run(store, run_id):
        h = hashlib.sha256()
        for rows in ledger_rows(store, run_id):
            h.update("".join("\x1f".join(map(str, r)) + "\n" for r in rows).encode("utf-8"))
        return h.hexdigest()
    return blocks.sha256_of(ledger_blocks_of(store, run_id))
