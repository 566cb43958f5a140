"""Imports: a table file into the village database, all or nothing, idempotent.

Each import reads the whole file first (:func:`xiangyue.tables.read_table`), checks it, then
writes it in ONE ``BEGIN IMMEDIATE`` transaction with ``executemany``:

- any error (a bad cell, a duplicate key, a conflict with what is stored) raises
  :class:`~xiangyue.errors.InputError` with every diagnostic, and nothing is written;
- a row equal to the stored row under the same key is *unchanged* (importing a file twice adds
  nothing); a different row under an existing key is a *conflict* unless ``replace=True``, which
  replaces it;
- every import is logged in the ``imports`` table (file, sha256, counts).

Warnings (e.g. a record of a household the register does not list) do not stop an import; they
come back in :attr:`ImportResult.warnings`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

from .errors import Diagnostic, InputError
from .i18n import Msg, register
from .model import FieldSpec, Ruleset
from .store import KEYS, Store, _q, columns_to_db, from_db, to_db
from .tables import read_table

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
        "E-IMPORT-CASE-NEGATIVE": Msg(
            zh="“{name}”不能是负数（{value}）", en="'{name}' cannot be negative ({value})"),
        "W-IMPORT-UNKNOWN-HOUSEHOLD": Msg(
            zh="户号 {household} 不在户籍名册中（{count} 条记录，第一条在第 {first} 行）",
            en="household {household} is not in the register ({count} record(s), first in row "
            "{first})",
            hint_zh="检查户号，或先导入户籍名册（xiangyue households import）",
            hint_en="check the household id, or import the register first "
            "(xiangyue households import)"),
    }
)

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

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "kind": self.kind, "file": self.file, "sha256": self.sha256, "rows": self.rows,
            "added": self.added, "unchanged": self.unchanged, "replaced": self.replaced,
            "warnings": [d.to_json(lang) for d in self.warnings],
        }


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# -- public entry points ----------------------------------------------------------------------


def import_households(store: Store, path: str | os.PathLike[str], ruleset: Ruleset, *,
                      replace: bool = False, encoding: str | None = None,
                      sheet: str | None = None) -> ImportResult:
    """Import the household register (户号, 户主, 网格, + declared household fields)."""
    return _Import(store, path, "households", tuple(ruleset.household_fields), ruleset,
                   replace=replace, encoding=encoding, sheet=sheet).run()


def import_records(store: Store, path: str | os.PathLike[str], ruleset: Ruleset, *,
                   replace: bool = False, encoding: str | None = None,
                   sheet: str | None = None) -> ImportResult:
    """Import activity records (one row per record, keyed by 记录编号)."""
    return _Import(store, path, "records", tuple(ruleset.fields), ruleset,
                   replace=replace, encoding=encoding, sheet=sheet).run()


def import_cases(store: Store, path: str | os.PathLike[str], ruleset: Ruleset, *,
                 replace: bool = False, encoding: str | None = None,
                 sheet: str | None = None) -> ImportResult:
    """Import checklist cases (one row per step, keyed by 事项编号 + 步骤)."""
    return _Import(store, path, "cases", tuple(ruleset.case_fields), ruleset,
                   replace=replace, encoding=encoding, sheet=sheet).run()


# -- the import -------------------------------------------------------------------------------


class _Import:
    def __init__(self, store: Store, path: str | os.PathLike[str], kind: str,
                 fields: tuple[FieldSpec, ...], ruleset: Ruleset, *, replace: bool,
                 encoding: str | None, sheet: str | None):
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

    def run(self) -> ImportResult:
        single = self.keys[0] if len(self.keys) == 1 else None
        table = read_table(self.path, self.fields, encoding=self.encoding, key=single,
                           sheet=self.sheet)
        self.table = table
        self.diags.extend(table.diagnostics)
        if self.kind == "cases":
            self._check_cases()
        if any(d.severity == "error" for d in self.diags):
            raise InputError(self.diags)
        result = ImportResult(self.kind, table.file, file_sha256(self.path), rows=len(table.rows))
        with self.store.transaction():
            self._write(result)
        result.warnings = sorted((d for d in self.diags if d.severity != "error"),
                                 key=Diagnostic.sort_key)
        return result

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

    # -- cases ------------------------------------------------------------------------------
    def _check_cases(self) -> None:
        first_of: dict[Any, tuple[int, dict[str, Any]]] = {}
        amount_of: dict[Any, tuple[int, Any]] = {}
        steps: dict[tuple[Any, Any], int] = {}
        for row, line in zip(self.table.rows, self.table.lines):
            case = row.get("case_id")
            key = (case, row.get("step"))
            if key in steps:
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
        self._case_summary = {c: (first_of[c], amount_of.get(c)) for c in first_of}

    def _check_stored_cases(self, stored: dict[tuple[Any, ...], dict[str, Any]]) -> None:
        """Steps already stored for a case this file adds to must agree on item and amount."""
        in_file = {(r.get("case_id"), r.get("step")) for r in self.table.rows}
        seen: set[tuple[Any, str]] = set()
        for key, old in stored.items():
            if key in in_file:
                continue
            case = key[0]
            if case not in self._case_summary:
                continue
            (fline, frow), amount = self._case_summary[case]
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
    def _stored(self, have: set[str]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        """Stored rows whose key is in the file, as stored values in ``self.fields`` order (a
        column the table lacks reads as the field's default), by key; for cases every stored
        step of every case in the file."""
        table, keys = self.kind, self.keys
        out: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        conn = self.store.conn
        if conn.execute(f"SELECT 1 FROM {_q(table)} LIMIT 1").fetchone() is None:
            return out
        select = ", ".join(
            _q(f.id) if f.id in have else "?" for f in self.fields)
        consts = [to_db(f.type, f.default) for f in self.fields if f.id not in have]
        ids = [f.id for f in self.fields]
        key_pos = [ids.index(k) for k in keys]
        first_key = keys[0]
        wanted = list(dict.fromkeys(r[first_key] for r in self.table.rows))
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            marks = ", ".join("?" * len(part))
            sql = f"SELECT {select} FROM {_q(table)} WHERE {_q(first_key)} IN ({marks})"
            for values in conn.execute(sql, consts + part):
                out[tuple(values[i] for i in key_pos)] = values
        return out

    def _typed(self, values: tuple[Any, ...]) -> dict[str, Any]:
        return {f.id: (f.default if v is None else from_db(f.type, v))
                for f, v in zip(self.fields, values)}

    def _write(self, result: ImportResult) -> None:
        store, table, rows, lines = self.store, self.kind, self.table.rows, self.table.lines
        have = set(store.columns(table))
        stored = self._stored(have)
        if self.kind == "cases":
            self._check_stored_cases({k: self._typed(v) for k, v in stored.items()})
        values = list(zip(*columns_to_db(self.fields, rows))) if rows else []
        ids = [f.id for f in self.fields]
        key_pos = [ids.index(k) for k in self.keys]
        new_rows: list[int] = []
        changed: list[int] = []
        for i, vals in enumerate(values):
            old = stored.get(tuple(vals[j] for j in key_pos)) if stored else None
            if old is None:
                new_rows.append(i)
                continue
            if old == vals:  # same stored text: the common case of a re-imported file
                result.unchanged += 1
                continue
            typed_old, row = self._typed(old), rows[i]
            diffs = [f for f in self.fields if typed_old[f.id] != row[f.id]]
            if not diffs:  # e.g. 1.0 stored, 1 now: equal values
                result.unchanged += 1
            elif self.replace:
                changed.append(i)
            else:
                self._conflict(row, lines[i], typed_old, diffs)
        if self.kind == "records":
            self._unknown_households(rows, lines)
        if any(d.severity == "error" for d in self.diags):
            raise InputError(self.diags)  # rolls the transaction back: nothing written

        store.ensure_columns(table, self.fields)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        source = str(self.path)
        names = ids + ["source_file", "source_row", "imported_at"]
        conn = store.conn
        if new_rows:
            sql = (f"INSERT INTO {_q(table)} ({', '.join(map(_q, names))}) "
                   f"VALUES ({', '.join('?' * len(names))})")
            if len(new_rows) == len(rows):
                conn.executemany(sql, (v + (source, line, now) for v, line in zip(values, lines)))
            else:
                conn.executemany(sql, (values[i] + (source, lines[i], now) for i in new_rows))
        if changed:
            sets = [j for j, f in enumerate(ids) if f not in self.keys]
            sql = (f"UPDATE {_q(table)} SET "
                   + ", ".join(f"{_q(ids[j])} = ?" for j in sets)
                   + ", source_file = ?, source_row = ?, imported_at = ? WHERE "
                   + " AND ".join(f"{_q(k)} = ?" for k in self.keys))
            conn.executemany(sql, (
                tuple(values[i][j] for j in sets) + (source, lines[i], now)
                + tuple(values[i][j] for j in key_pos) for i in changed))
        result.added = len(new_rows)
        result.replaced = len(changed)
        conn.execute(
            "INSERT INTO imports (kind, file, sha256, rows, added, unchanged, replaced, ruleset,"
            " imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.kind, source, result.sha256, result.rows, result.added, result.unchanged,
             result.replaced, getattr(self.ruleset, "file", None), now))

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
        self._add("E-IMPORT-CONFLICT", line, self._col(key),
                  name="/".join(self._label(k) for k in self.keys), value=value,
                  changes_zh=zh, changes_en=en)

    def _unknown_households(self, rows: Sequence[dict[str, Any]], lines: Sequence[int]) -> None:
        register_ids = self.store.household_ids()
        if not register_ids:
            return
        unknown: dict[str, list[int]] = defaultdict(list)
        for row, line in zip(rows, lines):
            h = row.get("household")
            if h not in register_ids:
                unknown[h].append(line)
        column = self._col("household")
        for h, where in unknown.items():
            self._add("W-IMPORT-UNKNOWN-HOUSEHOLD", where[0], column, severity="warning",
                      household=h, count=len(where), first=where[0])

