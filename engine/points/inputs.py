"""What an evaluation reads: the checked rule file, the records and the household register,
from table files (CSV/XLSX/JSONL) or from the village database; opened once, the same for
both evaluators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from xiangyue.errors import Diagnostic, XiangyueError
from xiangyue.i18n import Msg, did_you_mean, register
from xiangyue.periods import Period
from xiangyue.points.results import INVALID
from xiangyue.rules.model import Ruleset

register(
    {
        "E-EVAL-NOT-ALLOWED": Msg(
            zh="“{field}”的值“{value}”不是规则文件允许的值（{allowed}），这条记录不计分",
            en="'{value}' is not an allowed value of '{field}' ({allowed}); the record is not scored",
            hint_zh="{suggest_zh}改正表格中的值，或在规则文件的字段中加上这个值",
            hint_en="{suggest_en}correct the value in the table, or add it to the field's values in the rule file",
        ),
    }
)

def limit_kinds(ruleset: Ruleset) -> set[str]:
    """Every period kind the rule file counts something in (limits, once, escalation,
    highest_only, veto)."""
    kinds: set[str] = set()
    for rule in ruleset.rules:
        kinds.update(lim.per for lim in rule.limit + rule.deduction_limit)
        kinds.update(k for k in (rule.once, rule.highest_only, rule.veto) if k is not None)
        if rule.escalation is not None:
            kinds.add(rule.escalation.per)
    for cat in ruleset.categories:
        kinds.update(lim.per for lim in cat.limit + cat.deduction_limit)
    return kinds


def limit_start(ruleset: Ruleset, period: Period) -> dt.date:
    """The first day whose records are scored (and counted toward limits) to report ``period``:
    the start of every limit period that holds a day of it — 1 January of its year (month,
    quarter and year periods nest in it), the Monday of the ISO week holding that 1 January when
    a limit is counted per week, ``effective.from`` (or the first record) when one is counted
    ``ever``."""
    from xiangyue.periods import week_start

    kinds = limit_kinds(ruleset)
    start = dt.date(period.start.year, 1, 1)
    if "week" in kinds:
        start = week_start(start)
    if "ever" in kinds:
        start = ruleset.effective_from or dt.date.min
    return start


def replay_window(ruleset: Ruleset, period: Period) -> tuple[dt.date, dt.date]:
    """The dates of the records needed to report ``period``: from :func:`limit_start` less the
    longest window of 近期次数 (records before the limit start are only looked back on), to the
    end of the last veto period overlapping it."""
    from xiangyue.periods import kind_end

    start = limit_start(ruleset, period)
    if ruleset.window_days:
        start = max(dt.date.min, start - dt.timedelta(days=min(ruleset.window_days,
                                                               (start - dt.date.min).days)))
    end = period.end
    for rule in ruleset.rules:
        if rule.veto is not None:
            end = max(end, kind_end(period.end, rule.veto))
    return start, end





@dataclass
class Inputs:
    """What an evaluation reads: typed records (an iterable, ordered by date then record_id
    when ``presorted``; each may carry ``_file``/``_row`` and :data:`~xiangyue.points.results.INVALID`),
    the household register (None: the households in the records) and, in database mode, the
    open store the records stream from (close it when done; the columnar evaluator reads the
    store directly)."""

    records: Iterable[Mapping[str, Any]]
    households: list[Mapping[str, Any]] | None = None
    presorted: bool = False
    store: Any = None

    def __enter__(self) -> "Inputs":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def read_records_file(ruleset: Ruleset, path: str) -> list[dict[str, Any]]:
    """Typed records of a table file, each with ``_file``/``_row``; any bad row stops the
    evaluation (InputError listing every problem), so no total is silently short."""
    from xiangyue.data.tables import read_table

    # A value outside a field's allowed values (grade 特优) does not stop the evaluation: the
    # record is listed as invalid with its row, like any other value the rules cannot use.
    from dataclasses import replace

    # Likewise a blank person cell (unit: person): that record is listed as invalid
    # (E-EVAL-NO-PERSON); only a missing person column stops the evaluation.
    relaxed = [replace(f, values=None, required=False) if f.values or f.id == "person"
               else f for f in ruleset.fields]
    table = read_table(path, relaxed, key="record_id")
    person = ruleset.field("person")
    if person is not None and table.ok and table.rows and "person" not in table.columns:
        table.diagnostics.append(Diagnostic("E-TABLE-MISSING-COLUMN", file=table.file, line=1,
                                            args={"name": person.label or "person", "id": "person"}))
    table.raise_for_errors()
    out = table.rows
    mark = NotAllowed(ruleset)
    for row, line in zip(out, table.lines):
        row["_file"] = table.file
        row["_row"] = line
        mark(row, lambda fid: table.header(fid) or fid)
    return out


class NotAllowed:
    """Marks a record holding a value outside its field's allowed values (``values:`` of the
    rule file) with :data:`~xiangyue.points.results.INVALID`, so that both evaluators list it
    as invalid and score nothing of it: a record read from a table file, or from the database
    (imported under an earlier version of the rule file that allowed the value)."""

    def __init__(self, ruleset: Ruleset):
        self.fields = [(f.id, f, frozenset(f.values)) for f in ruleset.fields if f.values]

    def __bool__(self) -> bool:
        return bool(self.fields)

    def __call__(self, row: dict[str, Any], column: Callable[[str], str] | None = None) -> None:
        """Mark ``row`` (placed at its ``_file``/``_row``; ``column``: a field id's header in
        the table) when one of its values is not allowed; the first such field is named."""
        if INVALID in row:
            return
        for fid, spec, allowed in self.fields:
            value = row.get(fid)
            if value is not None and value not in allowed:
                zh, en = did_you_mean(str(value), spec.values or (), n=1, cutoff=0.6)
                row[INVALID] = Diagnostic(
                    "E-EVAL-NOT-ALLOWED", file=row.get("_file") or "", line=row.get("_row") or 0,
                    column=column(fid) if column else (spec.label or fid),
                    args={"field": spec.label or fid, "value": value,
                          "allowed": "、".join(spec.values or ()),
                          "suggest_zh": zh + " " if zh else "", "suggest_en": en + " " if en else ""})
                return


def typed_records(ruleset: Ruleset, rows: Iterable[Mapping[str, Any]], *,
                  file: str = "<rows>") -> list[dict[str, Any]]:
    """Records as a Python caller has them (e.g. ``csv.DictReader`` rows: English or Chinese
    column names, text or numbers) typed by the rule file's fields, exactly as a table file's
    rows are; raises :class:`InputError` listing every problem (row = position, 1-based)."""
    from xiangyue.data.tables import read_rows

    table = read_rows(rows, ruleset.fields, file=file, key="record_id")
    table.raise_for_errors()
    for row, line in zip(table.rows, table.lines):
        row["_file"] = file
        row["_row"] = line
    return table.rows


def typed_households(ruleset: Ruleset, rows: Iterable[Mapping[str, Any]], *,
                     file: str = "<rows>") -> list[dict[str, Any]]:
    """The household register from a Python caller's rows (see :func:`typed_records`)."""
    from xiangyue.data.tables import read_rows

    table = read_rows(rows, ruleset.household_fields, file=file, key="household")
    table.raise_for_errors()
    return table.rows


def read_households_file(ruleset: Ruleset, path: str) -> list[dict[str, Any]]:
    """The household register of a table file: a clean CSV read by columns
    (:func:`~xiangyue.points.columnar.csvload.read_csv_households`, the same rows, no dict
    built per cell), anything else by the row path (:func:`read_households_rows`)."""
    try:
        from xiangyue.points.columnar.csvload import read_csv_households
    except ImportError:  # numpy / pyarrow missing: rows
        pass
    else:
        fast = read_csv_households(ruleset, path)
        if fast is not None:
            return fast
    return read_households_rows(ruleset, path)


def read_households_rows(ruleset: Ruleset, path: str) -> list[dict[str, Any]]:
    """:func:`read_households_file` by the row path."""
    from xiangyue.data.tables import read_table

    table = read_table(path, ruleset.household_fields, key="household")
    table.raise_for_errors()
    return table.rows


def stored_records(store: Any, ruleset: Ruleset, period: Period) -> Iterator[dict[str, Any]]:
    """The database's records needed to report ``period`` (from 1 January of its year), in
    order, each with ``_file``/``_row`` (where it was imported from)."""
    start, end = replay_window(ruleset, period)
    yield from stored_rows(store, ruleset, start, end)


def stored_rows(store: Any, ruleset: Ruleset, start: Any, end: Any,
                 household: str | None = None) -> Iterator[dict[str, Any]]:
    """Stored records (of one household when given) in order, each placed at ``_file``/``_row``
    and marked by :class:`NotAllowed` (a value imported under an earlier rule file): every
    reader of the database sees the same invalid records."""
    from xiangyue.rules.model import FieldSpec

    fields = list(ruleset.fields) + [FieldSpec("source_file", "text"),
                                     FieldSpec("source_row", "integer")]
    mark = NotAllowed(ruleset)
    for row in store.iter_records(fields, start, end, household=household):
        row["_file"] = row.pop("source_file")
        row["_row"] = row.pop("source_row")
        if mark:
            mark(row)
        yield row


def household_inputs(store: Any, ruleset: Ruleset, period: Period, household: str
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """One household's records needed to report ``period`` (in order, with ``_file``/``_row``,
    marked as :func:`stored_records` marks them) and its register row (None when the register
    is empty: the households in the records). Limits never cross households, so these are all
    an evaluation of it needs; read through the ``records (household, date)`` index when the
    database has it."""
    start, end = replay_window(ruleset, period)
    rows = list(stored_rows(store, ruleset, start, end, household))
    register = store.households(ruleset.household_fields, household=household)
    if not register and not store.count("households"):
        return rows, None
    return rows, register


def open_inputs(ruleset: Ruleset, period: Period, *, db_path: str | None = None,
                records_path: str | None = None, households_path: str | None = None) -> Inputs:
    """Records from ``records_path`` when given (no database needed), else from the database
    at ``db_path`` (which must exist); the register from ``households_path`` when given, else
    from the database in database mode (an empty register means: the households in the
    records)."""
    households = read_households_file(ruleset, households_path) if households_path else None
    if records_path:
        # a clean CSV straight to columns (the same records); anything else (and any
        # message) by the row path
        try:
            from xiangyue.points.columnar.csvload import read_csv_records
        except ImportError:  # numpy / pyarrow missing: rows
            fast = None
        else:
            fast = read_csv_records(ruleset, records_path, NotAllowed(ruleset))
        return Inputs(fast if fast is not None else read_records_file(ruleset, records_path),
                      households)
    from xiangyue.data.store import open_store

    store = open_store(db_path or "xiangyue.db", create=False)
    try:
        if households is None:
            households = store.households(ruleset.household_fields) or None
    except BaseException:
        store.close()
        raise
    records = stored_records(store, ruleset, period)
    return Inputs(records, households, True, store)


