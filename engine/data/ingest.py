"""Imports: a table file into the village database, all or nothing, idempotent.

Each import streams the file (:class:`xiangyue.data.tables.TableStream`, blocks of
:data:`CHUNK_ROWS` rows: memory does not grow with the file) into ONE ``BEGIN IMMEDIATE``
transaction: each block goes in with one ``executemany`` of ``INSERT OR IGNORE``; only a block
where a row was left out (its key already stored, or repeated in the file) is looked at row by
row, against the stored rows of its keys (SQL, no dict of the whole table). A first import into
an empty table builds the secondary indexes once at the end.

- any error (a bad cell, a duplicate key, a conflict with what is stored), even one found after
  blocks were written, raises :class:`~xiangyue.errors.InputError` with every diagnostic of the
  file, and the transaction is rolled back: nothing is written;
- a row equal to the stored row under the same key is *unchanged* (importing a file twice adds
  nothing); a different row under an existing key is a *conflict* unless ``replace=True``, which
  replaces it;
- every import is logged in the ``imports`` table (file, sha256, counts).

Warnings (e.g. a record of a household the register does not list) do not stop an import; they
come back in :attr:`ImportResult.warnings`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register
from xiangyue.rules.model import FieldSpec, Ruleset
from xiangyue.data.store import KEYS, Store, _q, from_db, to_db
from xiangyue.data.tables import Block, TableStream, summarize

__all__ = ["ImportResult", "import_households", "import_records", "import_cases", "file_sha256"]

register(
    {
        "E-IMPORT-CONFLICT": Msg(
            zh="{name} {value} 已存在且内容不同（{changes_zh}）",
            en="{name} {value} already exists with different content ({changes_en})",
            hint_zh="如要用新内容替换已有的，加 --replace；否则请改用新的{name}",
            hint_en="to replace the stored row, add --replace; otherwise use a new {name}"),
        "E-IMPORT-CASE-ITEM": Msg(
            zh="事项 {case} 的清单事项不一致：第 {first} 行是“{a}”，第 {row} 行是“{b}”",
            en="case {case} names different items: '{a}' in row {first}, '{b}' in row {row}",
            hint_zh="同一事项编号的各行应写同一个清单事项",
            hint_en="every row of one case must name the same item"),
        "E-IMPORT-CASE-AMOUNT": Msg(
            zh="事项 {case} 的金额不一致：第 {first} 行是 {a}，第 {row} 行是 {b}",
            en="case {case} has different amounts: {a} in row {first}, {b} in row {row}",
            hint_zh="同一事项编号的各行应写同一个金额（或留空）",
            hint_en="every row of one case must give the same amount (or leave it empty)"),
        "E-IMPORT-CASE-STORED": Msg(
            zh="事项 {case} 的{what}与数据库中已有的不同（已有“{a}”，这里是“{b}”）",
            en="case {case}: {what_en} differs from the stored case ('{a}' stored, '{b}' here)",
            hint_zh="检查事项编号是否写错", hint_en="check the case id"),
        "E-IMPORT-CASE-STEP-DUP": Msg(
            zh="事项 {case} 的步骤“{step}”出现两次：第 {first} 行和第 {row} 行",
            en="case {case} lists step '{step}' twice: rows {first} and {row}",
            hint_zh="每个步骤只写一行", hint_en="write each step once"),
        "E-IMPORT-CASE-ATTENDED": Msg(
            zh="到会人数 {attended} 多于应到人数 {eligible}",
            en="{attended} attended, more than the {eligible} eligible",
            hint_zh="检查到会人数和应到人数", hint_en="check the attendance figures"),
        "E-IMPORT-CASE-APPROVED": Msg(
            zh="赞成人数 {approved} 多于到会人数 {attended}",
            en="{approved} approved, more than the {attended} who attended",
            hint_zh="检查赞成人数和到会人数", hint_en="check the vote figures"),
        "E-IMPORT-CASE-DUTY-DUP": Msg(
            zh="事项 {case} 写了两行：第 {first} 行和第 {row} 行；定期事项的一次办理只写一行",
            en="case {case} has two rows: rows {first} and {row}; a recurring duty's case is one row",
            hint_zh="同一期又办了一次请用新的事项编号", hint_en="give another case its own case id"),
        "E-IMPORT-CASE-NO-STEP": Msg(
            zh="事项 {case} 缺少步骤",
            en="case {case} names no step",
            hint_zh="按程序办理的事项每一行写一个步骤；只有定期事项（村级事务清单中只有周期的事项）可以不写步骤",
            hint_en="write the step on every row of a case that follows a procedure; only a "
            "recurring duty without a procedure may leave it empty"),
        "E-IMPORT-CASE-NEGATIVE": Msg(
            zh="“{name}”不能是负数（{value}）", en="'{name}' cannot be negative ({value})"),
        "W-IMPORT-ACTIVITY": Msg(
            zh="{name}“{value}”没有一条规则能匹配（{count} 条记录，第一条在第 {first} 行）",
            en="no rule can match {name} '{value}' ({count} record(s), first in row {first})",
            hint_zh="{suggest_zh}", hint_en="{suggest_en}"),
        "W-IMPORT-UNKNOWN-HOUSEHOLD": Msg(
            zh="户号 {household} 不在户籍名册中（{count} 条记录，第一条在第 {first} 行）",
            en="household {household} is not in the register ({count} record(s), first in row "
            "{first})",
            hint_zh="检查户号，或先导入户籍名册（xiangyue households import）",
            hint_en="check the household id, or import the register first "
            "(xiangyue households import)"),
    }
)

#: Rows read and written at a time: memory is bounded by this, not by the file's size.
CHUNK_ROWS = 50000
_ROWS_PER_INSERT = 200  # rows of one INSERT statement (fewer if SQLite allows fewer parameters)
_SEEN = "xiangyue_import_seen"

_WHAT = {"item": ("清单事项", "the item"), "amount": ("金额", "the amount")}


@dataclass
class ImportResult:
    """What an import did: ``rows`` read = ``added`` + ``unchanged`` + ``replaced``."""

    kind: str  # households | records | cases
    file: str
    sha256: str
    rows: int = 0
    added: int = 0
    unchanged: int = 0
    replaced: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)
    id: int | None = None  # the import batch (``xiangyue imports``)
    header_line: int = 1
    sheet: str | None = None

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "file": self.file, "sha256": self.sha256,
            "rows": self.rows, "added": self.added, "unchanged": self.unchanged,
            "replaced": self.replaced, "header_row": self.header_line, "sheet": self.sheet,
            "warnings": [d.to_json(lang) for d in self.warnings],
        }


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: an import allocates millions of short-lived rows
    (freed by reference counting, no cycles), and the collector's passes over them cost a
    third of the import's time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


#: Helper threads of SQLite's sorter when an import builds its indexes at the end.
_SORT_THREADS = min(4, max(1, (os.cpu_count() or 1) - 1))


def _suggest(vocab: Any, names: Sequence[Any]) -> dict[Any, Any]:
    return {a: vocab.suggest(str(a)) for a in names} if vocab is not None else {}


@contextlib.contextmanager
def _beside(fn: Callable[..., Any], *args: Any) -> Iterator[Any]:
    """``fn(*args)`` in a thread while the body runs; yields its future (waited for on the
    way out, so nothing outlives the import)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(fn, *args)


def _vocabulary(ruleset: Ruleset) -> Any:
    """The activity names the rules know, when they are all a record can match (else None)."""
    from xiangyue.rules.vocabulary import vocabulary

    try:
        v = vocabulary(ruleset)
    except (AttributeError, TypeError):  # a ruleset-like object without parsed rules
        return None
    return v if v is not None and v.closed else None


def archive_rows(store: Store, table: str, reason: str, import_id: int | None, where: str,
                 now: str, params: Sequence[Any] = ()) -> int:
    """Copy the rows of ``table`` matching ``where`` into ``removed_rows`` (each as a JSON
    object of its stored columns) before they are removed or replaced: nothing is lost.
    Returns how many were archived. Call inside the write transaction."""
    cur = store.conn.execute(f"SELECT * FROM {_q(table)} WHERE {where}", tuple(params))
    names = [d[0] for d in cur.description]
    rows = [(table, reason, import_id, now, json.dumps(dict(zip(names, r)), ensure_ascii=False))
            for r in cur]
    store.conn.executemany("INSERT INTO removed_rows (tbl, reason, import_id, removed_at, row) "
                           "VALUES (?, ?, ?, ?, ?)", rows)
    return len(rows)


def _literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# -- public entry points ----------------------------------------------------------------------


def import_households(store: Store, path: str | os.PathLike[str], ruleset: Ruleset, *,
                      replace: bool = False, encoding: str | None = None,
                      sheet: str | None = None, header_row: int | None = None,
                      strict_columns: bool = False) -> ImportResult:
    """Import the household register (户号, 户主, 网格, + declared household fields)."""
    return _Import(store, path, "households", tuple(ruleset.household_fields), ruleset,
                   replace=replace, encoding=encoding, sheet=sheet, header_row=header_row,
                   strict_columns=strict_columns).run()


def import_records(store: Store, path: str | os.PathLike[str], ruleset: Ruleset, *,
                   replace: bool = False, encoding: str | None = None,
                   sheet: str | None = None, header_row: int | None = None,
                   strict_columns: bool = False) -> ImportResult:
    """Import activity records (one row per record, keyed by 记录编号)."""
    return _Import(store, path, "records", tuple(ruleset.fields), ruleset,
                   replace=replace, encoding=encoding, sheet=sheet, header_row=header_row,
                   strict_columns=strict_columns).run()


def import_cases(store: Store, path: str | os.PathLike[str], ruleset: Ruleset, *,
                 replace: bool = False, encoding: str | None = None,
                 sheet: str | None = None, header_row: int | None = None,
                 strict_columns: bool = False) -> ImportResult:
    """Import checklist cases (one row per step, keyed by 事项编号 + 步骤)."""
    return _Import(store, path, "cases", tuple(ruleset.case_fields), ruleset,
                   replace=replace, encoding=encoding, sheet=sheet, header_row=header_row,
                   strict_columns=strict_columns).run()


# -- the import -------------------------------------------------------------------------------


class _Import:
    def __init__(self, store: Store, path: str | os.PathLike[str], kind: str,
                 fields: tuple[FieldSpec, ...], ruleset: Ruleset, *, replace: bool,
                 encoding: str | None, sheet: str | None, header_row: int | None = None,
                 strict_columns: bool = False):
        self.header_row = header_row
        self.strict_columns = strict_columns
        self.store = store
        self.path = path
        self.kind = kind
        self.fields = fields
        self.ruleset = ruleset
        self.replace = replace
        self.encoding = encoding
        self.sheet = sheet
        self.keys = KEYS[kind]
        self.diags: list[Diagnostic] = []
        ids = [f.id for f in fields]
        self.key_pos = [ids.index(k) for k in self.keys]
        self.single = self.keys[0] if len(self.keys) == 1 else None

    def run(self) -> ImportResult:
        stream = TableStream(self.path, self.fields, encoding=self.encoding, key=self.single,
                             sheet=self.sheet, chunk_rows=CHUNK_ROWS, header_row=self.header_row,
                             strict_columns=self.strict_columns)
        self.stream = stream
        self.table = stream.result
        with contextlib.ExitStack() as stack:
            with _beside(file_sha256, self.path) as sha256:  # hashlib lets go of the GIL
                self.staged = self._staged(stack)
            result = ImportResult(self.kind, stream.file, sha256.result())
            with self.store.transaction(), _no_gc():
                try:
                    self._write(result)
                finally:
                    if self._seen_made:
                        self.store.conn.execute(f"DROP TABLE IF EXISTS temp.{_SEEN}")
        result.warnings = summarize([d for d in self.diags if d.severity != "error"])
        result.header_line = self.table.header_line
        result.sheet = self.table.sheet
        return result

    def _staged(self, stack: contextlib.ExitStack) -> str | None:
        """A clean UTF-8 CSV of records staged for one ``INSERT … SELECT``
        (:mod:`xiangyue.data.bulk`): the table to select from, or None (the row path: any other
        file, or options the bulk path does not take)."""
        self.clean = None
        if self.kind != "records" or self.single is None or self.encoding or self.sheet or \
                self.header_row not in (None, 1):
            return None
        from xiangyue.data import bulk

        clean = bulk.clean_records(self.path, self.fields, self.ruleset, self.single)
        if clean is None:
            return None
        try:
            source = stack.enter_context(bulk.staged(self.store.conn, clean, self.store.path))
        except Exception:  # noqa: BLE001 - no staging file (temp folder, driver): the row path
            return None
        # what _write still asks of the file's columns: the households and activities seen
        vocab = _vocabulary(self.ruleset)
        clean.release([f.id for f in self.fields
                       if f.id == "household" or (vocab and f.id == vocab.field.id)])
        self.clean = clean
        return source

    # -- helpers ----------------------------------------------------------------------------
    def _add(self, code: str, line: int, column: str, severity: str = "error",
             **args: Any) -> None:
        self.diags.append(Diagnostic(code, file=self.table.file, line=line, column=column,
                                     args=args, severity=severity))

    def _col(self, field_id: str) -> str:
        return self.table.header(field_id, self.fields)

    def _label(self, field_id: str) -> str:
        spec = next((f for f in self.fields if f.id == field_id), None)
        return (spec.label or spec.id) if spec else field_id

    def _item_key(self, item: Any) -> Any:
        """A checklist item named by id or Chinese name, compared by id when the rule file
        knows it."""
        finder = getattr(self.ruleset, "item", None)
        if item is None or finder is None:
            return item
        try:
            found = finder(item)
        except (AttributeError, TypeError):
            return item
        return found.id if found is not None else item

    def _needs_no_step(self, item: Any) -> bool:
        """A recurring duty without a procedure (村级事务清单): its case is one dated row."""
        finder = getattr(self.ruleset, "item", None)
        found = finder(str(item)) if item is not None and finder is not None else None
        return found is not None and getattr(found, "schedule", None) is not None \
            and not found.procedures

    def _typed(self, values: Sequence[Any]) -> dict[str, Any]:
        return {f.id: (f.default if v is None else from_db(f.type, v))
                for f, v in zip(self.fields, values)}

    # -- cases ------------------------------------------------------------------------------
    def _check_cases(self, rows: Sequence[dict[str, Any]], lines: Sequence[int]) -> None:
        """One block of the file's steps, checked against each other and the steps before."""
        first_of, amount_of, steps = self._first_of, self._amount_of, self._steps
        for row, line in zip(rows, lines):
            case = row.get("case_id")
            key = (case, row.get("step"))
            if not row.get("step"):
                item = row.get("item")
                if item is None and case in first_of:
                    item = first_of[case][1].get("item")
                if not self._needs_no_step(item):
                    self._add("E-IMPORT-CASE-NO-STEP", line, self._col("step"), case=case)
            if key in steps and not row.get("step"):
                self._add("E-IMPORT-CASE-DUTY-DUP", line, self._col("case_id"), case=case,
                          first=steps[key], row=line)
            elif key in steps:
                self._add("E-IMPORT-CASE-STEP-DUP", line, self._col("step"), case=case,
                          step=row.get("step"), first=steps[key], row=line)
            else:
                steps[key] = line
            if case in first_of:
                fline, frow = first_of[case]
                a, b = frow.get("item"), row.get("item")
                if a is not None and b is not None and self._item_key(a) != self._item_key(b):
                    self._add("E-IMPORT-CASE-ITEM", line, self._col("item"), case=case, a=a,
                              b=b, first=fline, row=line)
            else:
                first_of[case] = (line, row)
            amount = row.get("amount")
            if amount is not None:
                if case in amount_of and amount_of[case][1] != amount:
                    aline, a = amount_of[case]
                    self._add("E-IMPORT-CASE-AMOUNT", line, self._col("amount"), case=case,
                              a=a, b=amount, first=aline, row=line)
                else:
                    amount_of.setdefault(case, (line, amount))
            counts = {k: row.get(k) for k in ("attended", "eligible", "approved")}
            for k, v in counts.items():
                if v is not None and v < 0:
                    self._add("E-IMPORT-CASE-NEGATIVE", line, self._col(k), name=self._label(k),
                              value=v)
            att, eli, app = counts["attended"], counts["eligible"], counts["approved"]
            if att is not None and eli is not None and att > eli:
                self._add("E-IMPORT-CASE-ATTENDED", line, self._col("attended"), attended=att,
                          eligible=eli)
            if app is not None and att is not None and app > att:
                self._add("E-IMPORT-CASE-APPROVED", line, self._col("approved"), approved=app,
                          attended=att)

    def _check_stored_cases(self) -> None:
        """Steps stored before this import for a case this file adds to must agree on item
        and amount."""
        summary = {c: (self._first_of[c], self._amount_of.get(c)) for c in self._first_of}
        in_file = self._steps
        conn = self.store.conn
        select = ", ".join(_q(f.id) for f in self.fields)
        seen: set[tuple[Any, str]] = set()
        wanted = list(summary)
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            sql = (f"SELECT {select} FROM cases WHERE case_id IN ({', '.join('?' * len(part))})"
                   f" AND rowid <= ?")
            for values in conn.execute(sql, part + [self.start_max]):
                key = tuple(values[i] for i in self.key_pos)
                if key in in_file:
                    continue
                old = self._typed(values)
                case = key[0]
                (fline, frow), amount = summary[case]
                checks = [("item", old.get("item"), frow.get("item"), fline)]
                if amount is not None:
                    checks.append(("amount", old.get("amount"), amount[1], amount[0]))
                for what, a, b, line in checks:
                    if a is None or b is None or (case, what) in seen:
                        continue
                    same = (self._item_key(a) == self._item_key(b)) if what == "item" else a == b
                    if not same:
                        seen.add((case, what))
                        self._add("E-IMPORT-CASE-STORED", line, self._col(what), case=case,
                                  what=_WHAT[what][0], what_en=_WHAT[what][1], a=a, b=b)

    # -- writing ----------------------------------------------------------------------------
    _seen_made = False

    def _write(self, result: ImportResult) -> None:
        """Stream the file into the table block by block, inside the caller's transaction:
        ``INSERT OR IGNORE`` adds the new rows; only a block where some row was ignored (its
        key already stored, or repeated in the file) is looked at row by row."""
        store, table, conn = self.store, self.kind, self.store.conn
        store.ensure_columns(table, self.fields)
        store.ensure_batches(table)
        if table == "records":  # databases made before the index (one household's records)
            conn.execute("CREATE INDEX IF NOT EXISTS records_by_household "
                         "ON records (household, date)")
        self.start_max = conn.execute(f"SELECT max(rowid) FROM {_q(table)}").fetchone()[0] or 0
        # A first import into an empty table: build the secondary indexes once at the end
        # (a sort) instead of updating them row by row. Part of the transaction.
        deferred: list[str] = []
        if self.start_max == 0:
            for name, sql in conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                    "AND sql IS NOT NULL", (table,)).fetchall():
                conn.execute(f"DROP INDEX {_q(name)}")
                deferred.append(sql)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.source = source = str(self.path)
        self.now = now
        # the batch's id first: every row it writes carries it (counts are filled in at the end)
        self.batch = batch = conn.execute(
            "INSERT INTO imports (kind, file, sha256, rows, added, unchanged, replaced, ruleset,"
            " imported_at) VALUES (?, ?, ?, 0, 0, 0, 0, ?, ?)",
            (self.kind, source, result.sha256, getattr(self.ruleset, "file", None), now)).lastrowid
        result.id = batch
        names = [f.id for f in self.fields] + ["source_file", "source_row", "extra",
                                               "imported_at", "import_id"]
        # the file, time and batch are the same for every row: SQL literals, not parameters
        # bound a million times
        head = f"INSERT OR IGNORE INTO {_q(table)} ({', '.join(map(_q, names))}) VALUES "
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        # two forms: rows with extra fields bind them; a block without any binds none
        statements = {}
        for extra, param in ((True, "?"), (False, "NULL")):
            one = (f"({', '.join('?' * len(self.fields))}, {_literal(source)}, ?, {param}, "
                   f"{_literal(now)}, {int(batch)})")
            width = len(self.fields) + 1 + extra  # parameters of a row
            # many rows per statement: far fewer statement steps than one row each
            per = max(1, min(_ROWS_PER_INSERT, limit // width))
            statements[extra] = (width, per, head + one, head + ", ".join([one] * per))
        register = store.household_ids() if self.kind == "records" else set()
        hcol = next((j for j, f in enumerate(self.fields) if f.id == "household"), None)
        vocab = _vocabulary(self.ruleset) if self.kind == "records" else None
        acol = next((j for j, f in enumerate(self.fields) if vocab and f.id == vocab.field.id),
                    None)
        known_names = frozenset(vocab.names) if vocab else frozenset()
        strange: dict[Any, list[int]] = {}  # activity no rule can match -> [first row, count]
        unknown: dict[Any, list[int]] = {}
        self._first_of: dict[Any, tuple[int, dict[str, Any]]] = {}
        self._amount_of: dict[Any, tuple[int, Any]] = {}
        self._steps: dict[tuple[Any, Any], int] = {}
        self.dup_first: dict[int, tuple[Any, int]] = {}  # row -> (key, first row with it)
        self.bad_first: dict[Any, int] = {}
        self.conflicts: list[Diagnostic] = []
        rows = 0
        suggested: dict[Any, Any] = {}  # activity -> the names close to it (vocab.suggest)
        bulk_rows = None
        if self.staged is not None:
            clean = self.clean
            odd: dict[Any, list[int]] = {}
            if acol is not None:
                aid = self.fields[acol].id
                odd = clean.first_rows(aid, clean.distinct(aid) - known_names - {None})
            with _beside(_suggest, vocab, list(odd)) as suggesting:
                # the suggestions (pinyin: a library to load, then a comparison per name) on
                # the other core while SQLite inserts (it lets go of the GIL)
                bulk_rows = self._bulk(result, names)
            if bulk_rows is not None:
                rows, strange, suggested = bulk_rows, odd, suggesting.result()
                if register and hcol is not None:
                    hid = self.fields[hcol].id
                    unknown = clean.first_rows(hid, clean.distinct(hid) - register)
        for block in (self.stream.blocks() if bulk_rows is None else ()):
            cols, lines = block.columns, block.lines
            n = len(lines)
            rows += n
            if self.kind == "cases":
                self._check_cases([self._typed(v) for v in zip(*cols)], lines)
            if acol is not None:
                odd = set(cols[acol]) - known_names
                odd.discard(None)
                if odd:
                    for a, line in zip(cols[acol], lines):
                        if a in odd:
                            seen_a = strange.get(a)
                            if seen_a is None:
                                strange[a] = [line, 1]
                            else:
                                seen_a[1] += 1
            if register and hcol is not None:
                for h, line in zip(cols[hcol], lines):
                    if h not in register:
                        seen = unknown.get(h)
                        if seen is None:
                            unknown[h] = [line, 1]
                        else:
                            seen[1] += 1
            if n:
                with_extra = any(block.extras)
                width, per, insert_one, insert_many = statements[with_extra]
                flat: list[Any] = [None] * (n * width)  # the rows' parameters, one after another
                for j, col in enumerate(cols):
                    flat[j::width] = col
                if with_extra:
                    flat[width - 2::width] = lines
                    flat[width - 1::width] = block.extras
                else:
                    flat[width - 1::width] = lines
                step, whole = per * width, n // per * per * width
                added = 0
                if whole:
                    added += conn.executemany(insert_many, (
                        flat[i:i + step] for i in range(0, whole, step))).rowcount
                if whole < len(flat):
                    added += conn.executemany(insert_one, (
                        flat[i:i + width] for i in range(whole, len(flat), width))).rowcount
                result.added += added
                if added != n:
                    self._collisions(block, result)
            if self.single is not None and (block.bad_keys or self.bad_first):
                self._bad_keys(block)
        result.rows = rows
        # Everything of the file itself is reported together, before what the database says
        # (as when the file is checked first): nothing is kept either way.
        if self.single is not None:
            spec = next(f for f in self.fields if f.id == self.single)
            column = self.table.columns.get(spec.id, spec.id)
            for line in sorted(self.dup_first):
                k, first = self.dup_first[line]
                self.stream.add("E-TABLE-DUP-KEY", line, column, name=spec.label or spec.id,
                                value=k, first=first, row=line)
        if bulk_rows is None:
            self.diags[:0] = self.stream.finish()
        if any(d.severity == "error" for d in self.diags):
            raise InputError(self.diags)  # rolls the transaction back: nothing written
        if self.kind == "cases":
            self._check_stored_cases()
        self.diags.extend(self.conflicts)
        if unknown:
            column = self._col("household")
            for h, (first, count) in unknown.items():
                self._add("W-IMPORT-UNKNOWN-HOUSEHOLD", first, column, severity="warning",
                          household=h, count=count, first=first)
        if strange and vocab is not None:
            from xiangyue.rules.vocabulary import suggestion_words

            column = self._col(vocab.field.id)
            for a, (first, count) in strange.items():
                close = suggested[a] if a in suggested else vocab.suggest(str(a))
                self._add("W-IMPORT-ACTIVITY", first, column, severity="warning",
                          name=vocab.field.label or vocab.field.id, value=a, count=count,
                          first=first, suggestions=close,
                          suggest_zh=suggestion_words(close, "zh") or "规则文件中的名称："
                          + "、".join(vocab.names[:12]),
                          suggest_en=suggestion_words(close, "en") or "names the rules know: "
                          + ", ".join(vocab.names[:12]))
        if any(d.severity == "error" for d in self.diags):
            raise InputError(summarize(self.diags))  # rolls back: nothing written
        if deferred:  # sorts of a million keys: SQLite's sorter may use a helper thread
            conn.execute(f"PRAGMA threads = {_SORT_THREADS}")
        for sql in deferred:
            conn.execute(sql)
        conn.execute("UPDATE imports SET rows = ?, added = ?, unchanged = ?, replaced = ? "
                     "WHERE id = ?", (result.rows, result.added, result.unchanged,
                                      result.replaced, batch))

    def _bulk(self, result: ImportResult, names: list[str]) -> int | None:
        """The staged clean file in one ``INSERT OR IGNORE … SELECT`` (file order: the same
        rowids as the row path); the rows read, or None when a row's key was already stored
        (nothing of it kept: the row path says unchanged, replaced or conflict)."""
        conn, clean = self.store.conn, self.clean
        assert clean is not None and self.single is not None
        key = _q(self.single)
        if self.start_max and conn.execute(
                f"SELECT 1 FROM {self.staged} AS s JOIN {_q(self.kind)} AS t ON t.{key} = s.{key} "
                "LIMIT 1").fetchone():
            return None  # a re-import: said row by row (most often: unchanged)
        conn.execute("SAVEPOINT xiangyue_bulk")
        select = ", ".join(_q(f.id) for f in self.fields)
        added = conn.execute(
            f"INSERT OR IGNORE INTO {_q(self.kind)} ({', '.join(map(_q, names))}) "
            f"SELECT {select}, {_literal(self.source)}, source_row, NULL, {_literal(self.now)}, "
            f"{int(self.batch)} FROM {self.staged} ORDER BY rowid").rowcount
        if added != clean.n:
            conn.execute("ROLLBACK TO xiangyue_bulk")
            conn.execute("RELEASE xiangyue_bulk")
            return None
        conn.execute("RELEASE xiangyue_bulk")
        result.added = added
        self.table.columns.update(clean.headers)
        self.table.encoding = "utf-8"
        return clean.n

    def _dup(self, line: int, key: Any, first: int) -> None:
        """Row ``line`` repeats ``key`` first seen in row ``first`` (the earliest one wins)."""
        bad = self.bad_first.get(key)
        if bad is not None and bad < first:
            first = bad
        had = self.dup_first.get(line)
        if had is None or first < had[1]:
            self.dup_first[line] = (key, first)

    def _seen_many(self, items: list[tuple[tuple[Any, ...], int]]) -> dict[tuple[Any, ...], int]:
        """Note that these rows (key, row number) matched the stored row under their key; the
        keys an earlier row already did (a key repeated in the file), with that row. Kept in
        a temporary table, so a re-import of millions of rows needs no memory for it."""
        conn = self.store.conn
        if not self._seen_made:
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_SEEN} "
                         "(k1, k2, line INTEGER, PRIMARY KEY (k1, k2)) WITHOUT ROWID")
            conn.execute(f"DELETE FROM temp.{_SEEN}")
            self._seen_made = True
        rows = [(key[0], key[1] if len(key) > 1 else "", line) for key, line in items]
        if conn.executemany(f"INSERT OR IGNORE INTO temp.{_SEEN} VALUES (?, ?, ?)",
                            rows).rowcount == len(rows):
            return {}
        out = {}
        for (key, line), (k1, k2, _) in zip(items, rows):
            first = conn.execute(f"SELECT line FROM temp.{_SEEN} WHERE k1 IS ? AND k2 IS ?",
                                 (k1, k2)).fetchone()[0]
            if first != line:
                out[key] = first
        return out

    def _seen_line(self, key: tuple[Any, ...]) -> int | None:
        if not self._seen_made:
            return None
        k2 = key[1] if len(key) > 1 else ""  # not NULL: NULLs never clash
        hit = self.store.conn.execute(f"SELECT line FROM temp.{_SEEN} WHERE k1 IS ? AND k2 IS ?",
                                      (key[0], k2)).fetchone()
        return hit[0] if hit else None

    def _collisions(self, block: Block, result: ImportResult) -> None:
        """The rows of a block ``INSERT OR IGNORE`` left out: a key already stored before this
        import (unchanged, replaced or a conflict) or one repeated in the file."""
        conn, table, key_pos = self.store.conn, self.kind, self.key_pos
        cols, lines = block.columns, block.lines
        select = "rowid, source_row, " + ", ".join(_q(f.id) for f in self.fields)
        extras = block.extras or [None] * len(block.lines)
        first_key = self.keys[0]
        fetched: list[tuple[Any, ...]] = []
        wanted = list(dict.fromkeys(cols[key_pos[0]]))
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            sql = (f"SELECT {select} FROM {_q(table)} "
                   f"WHERE {_q(first_key)} IN ({', '.join('?' * len(part))})")
            fetched.extend(conn.execute(sql, part).fetchall())
        # whole columns at a time (C loops), then one pass over the rows
        stored = dict(zip(zip(*[[v[2 + j] for v in fetched] for j in key_pos]), fetched))
        del fetched
        keys = list(zip(*[cols[j] for j in key_pos]))
        start_max, single = self.start_max, self.single is not None
        # rows matching a row stored before this import, each key's first one (per block)
        olds: list[tuple[int, tuple[Any, ...], tuple[Any, ...], int, tuple[Any, ...]]] = []
        again: list[tuple[int, tuple[Any, ...]]] = []  # later rows with such a key
        firsts: dict[tuple[Any, ...], int] = {}
        extra_of = dict(zip(lines, extras))
        for line, vals, key in zip(lines, zip(*cols), keys):
            hit = stored[key]
            if hit[0] > start_max:  # a row of this file
                if hit[1] != line and single:
                    self._dup(line, key[0], hit[1])  # cases: a repeated step, said by _check_cases
                continue
            if firsts.setdefault(key, line) != line:
                again.append((line, key))
                continue
            olds.append((line, key, vals, hit[0], hit[2:]))
        # ... and whether an earlier block had it (a temporary table: no memory per row)
        if olds:
            earlier = self._seen_many([(key, line) for line, key, *_ in olds])
            if earlier:
                for line, key, *_ in olds:
                    if key in earlier:
                        firsts[key] = earlier[key]
                        if self.single is not None:
                            self._dup(line, key[0], earlier[key])
                olds = [o for o in olds if o[1] not in earlier]
        if self.single is not None:
            for line, key in again:
                self._dup(line, key[0], firsts[key])
        ids = [f.id for f in self.fields]
        sets = [j for j, f in enumerate(ids) if f not in self.keys]
        for line, key, vals, rowid, old in olds:
            if old == vals:  # same stored text: the common case of a re-imported file
                result.unchanged += 1
                continue
            typed_old, row = self._typed(old), self._typed(vals)
            diffs = [f for f in self.fields if typed_old[f.id] != row[f.id]]
            if not diffs:  # e.g. 1.0 stored, 1 now: equal values
                result.unchanged += 1
            elif self.replace:
                archive_rows(self.store, table, "replace", self.batch, f"rowid = {int(rowid)}",
                             self.now)
                conn.execute(
                    f"UPDATE {_q(table)} SET "
                    + ", ".join(f"{_q(ids[j])} = ?" for j in sets)
                    + ", source_file = ?, source_row = ?, imported_at = ?, extra = ?, "
                    "import_id = ? WHERE rowid = ?",
                    tuple(vals[j] for j in sets) + (self.source, line, self.now,
                                                    extra_of.get(line), self.batch, rowid))
                result.replaced += 1
            else:
                self._conflict(row, line, typed_old, diffs)

    def _bad_keys(self, block: Block) -> None:
        """Rows left out for a bad cell still count for duplicate keys, as in read_table."""
        conn, table, key = self.store.conn, self.kind, self.single
        for line, k in block.bad_keys:
            firsts = [self.bad_first.get(k)]
            own = conn.execute(f"SELECT source_row FROM {_q(table)} WHERE {_q(key)} = ? "
                               "AND rowid > ?", (k, self.start_max)).fetchone()
            firsts.append(own[0] if own else None)
            firsts.append(self._seen_line((k,)))
            earlier = [f for f in firsts if f is not None and f < line]
            if earlier:
                self._dup(line, k, min(earlier))
            self.bad_first.setdefault(k, line)
        if self.bad_first:
            keys = block.columns[self.key_pos[0]]
            for k, line in zip(keys, block.lines):
                b = self.bad_first.get(k)
                if b is not None and b < line:
                    self._dup(line, k, b)

    def _conflict(self, row: dict[str, Any], line: int, old: dict[str, Any],
                  diffs: Sequence[FieldSpec]) -> None:
        def show(f: FieldSpec, v: Any) -> str:
            if v is None:
                return "（空）"
            return str(to_db(f.type, v))

        def show_en(f: FieldSpec, v: Any) -> str:
            return "(empty)" if v is None else str(to_db(f.type, v))

        zh = "；".join(f"{f.label or f.id}：{show(f, old.get(f.id))} → {show(f, row.get(f.id))}"
                      for f in diffs[:4])
        en = "; ".join(f"{f.id}: {show_en(f, old.get(f.id))} -> {show_en(f, row.get(f.id))}"
                       for f in diffs[:4])
        if len(diffs) > 4:
            zh += "；…"
            en += "; …"
        key = self.keys[-1] if self.kind == "cases" else self.keys[0]
        value = " / ".join(str(row.get(k)) for k in self.keys)
        self.conflicts.append(Diagnostic(
            "E-IMPORT-CONFLICT", file=self.table.file, line=line, column=self._col(key),
            args={"name": "/".join(self._label(k) for k in self.keys), "value": value,
                  "changes_zh": zh, "changes_en": en}))
