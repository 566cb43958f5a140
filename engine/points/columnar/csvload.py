"""A CSV record file straight to columns (``evaluate --records big.csv``), without a Python
dict per record.

The file is read once with ``pyarrow.csv`` (every cell as text) and checked column by
column for the common clean case: UTF-8 (with or without BOM), the header on row 1 naming
only the rule file's fields, no blank, ragged, title, total or multi-line rows, no cell with
spaces around it or control characters, ids without full-width digits or ``E+``, no duplicate
record id, plain decimals and integers within their bounds, ISO dates (``2024-03-05``),
no boolean field. A file that passes reads to exactly the rows
:func:`xiangyue.points.inputs.read_records_file` would give; anything else (other encodings,
title rows, loose dates, XLSX/JSONL, any cell these checks do not accept) is left to that row
path, so every message stays the same. A value outside a field's allowed values marks the
record invalid here too; the few records a report lists are converted back to the row path's
dicts (with ``_file``/``_row`` and the same diagnostic) on demand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any, Callable, Iterator

import numpy as np

from xiangyue.points.columnar.expr import Vocab
from xiangyue.points.columnar.load import EPOCH, Columns, _field_column
from xiangyue.rules.model import FieldSpec, Ruleset

_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


class CsvRecords:
    """The records of a clean CSV file held as Arrow text columns. Iterating gives the row
    path's dicts (read then, once: the reference evaluator's fallback); :meth:`columns` gives
    the columnar evaluator's :class:`Columns` without them."""

    def __init__(self, ruleset: Ruleset, path: str, table: Any, specs: dict[str, FieldSpec],
                 headers: dict[str, str], read_rows: Callable[[], list[dict[str, Any]]],
                 mark: Callable[..., None]):
        self.ruleset = ruleset
        self.read_rows = read_rows  # the row path (points.inputs.read_records_file)
        self.mark = mark  # points.inputs.NotAllowed of the rule file
        self.path = path
        self.table = table  # pyarrow Table, one string column per field id present
        self.specs = specs  # field id -> relaxed spec (as the row path reads the file)
        self.headers = headers  # field id -> its header text
        self._rows: list[dict[str, Any]] | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._rows is None:
            self._rows = self.read_rows()
        return iter(self._rows)

    def columns(self, fields: list[FieldSpec], needed: set[str], person: bool,
                start: dt.date, end: dt.date) -> Columns:
        """The records dated ``start``..``end`` as columns (as ``load_records`` builds them
        from the row path's dicts), with the invalid mask of :class:`NotAllowed`."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from xiangyue.points.columnar.expr import Unsupported

        day_all = np.asarray(pc.cast(self.table.column("date").combine_chunks(), pa.date32())
                             .cast(pa.int32()))
        keep = np.flatnonzero((day_all >= (start - EPOCH).days) & (day_all <= (end - EPOCH).days))
        table = self.table.take(pa.array(keep))
        vocab = Vocab.empty()
        specs = {f.id: f for f in fields}
        cols: dict[str, Any] = {}

        def arr(fid: str) -> Any:
            if fid in table.column_names:
                a = table.column(fid).combine_chunks()
                empty = pc.equal(a, "")
                if pc.any(empty).as_py():
                    a = pc.if_else(empty, pa.scalar(None, pa.string()), a)
                return a
            return pa.nulls(len(table), pa.string())

        for fid in sorted(needed):
            spec = specs.get(fid)
            if spec is None:
                raise Unsupported(f"field {fid} not declared")
            a = arr(fid)
            if spec.type == "integer":  # checked plain integers (see _read)
                a = pc.cast(a, pa.int64())
            cols[fid] = _field_column(self.specs.get(fid, spec), a, vocab)
        household = _field_column(self.specs["household"], arr("household"), vocab).data
        person_codes = None
        if person:
            person_codes = _field_column(FieldSpec("person", "text"), arr("person"), vocab).data
        rid = table.column("record_id").combine_chunks()
        day = day_all[keep].astype(np.int32)
        invalid = None
        for f in self.ruleset.fields:
            if f.values:
                a = arr(f.id) if f.id in table.column_names else pa.nulls(len(table), pa.string())
                if f.default is not None:
                    a = pc.fill_null(a, str(f.default))
                out_of = pc.invert(pc.is_in(a, pa.array(list(f.values), pa.string())))
                bad = np.asarray(pc.and_(pc.is_valid(a), out_of))  # empty: not a value
                invalid = bad if invalid is None else invalid | bad
        out = Columns(len(keep), rid, household, person_codes, day, cols, vocab, None,  # type: ignore[arg-type]
                      invalid=invalid if invalid is not None and invalid.any() else None)
        out.fetch = lambda idx: self.rows_at(keep[np.asarray(idx, dtype=np.int64)])
        return out

    def rows_at(self, positions: Any) -> list[dict[str, Any]]:
        """The row path's dicts of the records at these positions of the file."""
        from xiangyue.data.tables import CellConverter
        convs = {fid: CellConverter(spec) for fid, spec in self.specs.items()}
        mark = self.mark
        present = [f for f in self.table.column_names]
        out = []
        for pos in positions:
            i = int(pos)
            row: dict[str, Any] = {}
            for fid in present:
                row[fid] = convs[fid].text(self.table.column(fid)[i].as_py())
            for f in self.ruleset.fields:
                if f.id not in row:
                    row[f.id] = f.default
            row["_file"] = self.path
            row["_row"] = i + 2
            mark(row, lambda fid: self.headers.get(fid) or fid)
            out.append(row)
        return out


def read_csv_records(ruleset: Ruleset, path: str, read_rows: Callable[[], list[dict[str, Any]]],
                     mark: Callable[..., None]) -> CsvRecords | None:
    """The CSV record file as :class:`CsvRecords` when it is the clean common case; None
    (read it through the row path) when it is anything else or pyarrow is missing.
    ``read_rows``: the row path's reading of the file; ``mark``: its NotAllowed marker."""
    try:
        found = _read(ruleset, path)
    except ImportError:
        return None
    if found is None:
        return None
    table, relaxed, headers = found
    return CsvRecords(ruleset, path, table, relaxed, headers, read_rows, mark)


def _read(ruleset: Ruleset, path: str) -> tuple[Any, dict[str, FieldSpec], dict[str, str]] | None:
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    from xiangyue.data.tables import (_DATE_RE, _FOOTER_IN, ID_FIELDS,
                                      match_header)

    p = Path(path)
    if p.suffix.lower() not in (".csv", ".txt") or not p.is_file() or p.stat().st_size == 0:
        return None
    relaxed = {f.id: (replace(f, values=None, required=False) if f.values or f.id == "person"
                      else f) for f in ruleset.fields}
    fields = list(relaxed.values())
    try:
        with p.open("rb") as fh:
            head = fh.readline()
        names = head.decode("utf-8-sig").rstrip("\r\n").split(",")
    except UnicodeDecodeError:
        return None
    if any('"' in n or not n.strip() for n in names):
        return None
    ids: list[str] = []
    headers: dict[str, str] = {}
    for n in names:
        spec = match_header(n.strip(), fields)
        if spec is None or spec.id in headers:
            return None  # extra, unknown or duplicate columns: the row path's notes
        ids.append(spec.id)
        headers[spec.id] = n.strip().lstrip("\ufeff").strip()
    if any(f.required and f.id not in headers for f in fields):
        return None
    if not {"record_id", "household", "date"} <= set(headers):
        return None
    if ruleset.field("person") is not None and "person" not in headers:
        return None
    if any(relaxed[i].type == "boolean" for i in ids):
        return None
    try:
        table = pcsv.read_csv(
            p,
            read_options=pcsv.ReadOptions(skip_rows=1, column_names=ids, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={i: pa.string() for i in ids}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None
    if table.num_rows == 0:
        return None
    # one line per record (no cell over two lines, no blank line): the row numbers hold
    with p.open("rb") as fh:
        data = fh.read()
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    del data
    if lines - 1 != table.num_rows:
        return None
    blank = None
    for fid in ids:
        col = table.column(fid).combine_chunks()
        spec = relaxed[fid]
        if not pc.all(pc.equal(col, pc.utf8_trim_whitespace(col))).as_py():
            return None
        if pc.any(pc.match_substring_regex(col, _CONTROL)).as_py():
            return None
        empty = pc.equal(col, "")
        e = np.asarray(empty)
        blank = e if blank is None else blank & e
        if e.any() and (spec.required or fid in ("record_id", "household", "date")):
            return None
        if fid in ID_FIELDS and (not pc.all(pc.equal(pc.utf8_length(col), pc.binary_length(col))).as_py()
                                 or pc.any(pc.match_substring(col, "e+", ignore_case=True)).as_py()):
            return None
        filled = pc.filter(col, pc.invert(empty))
        if spec.type == "date":
            if not pc.all(pc.match_substring_regex(filled, "^" + _DATE_RE.pattern.replace(r"\Z", "$"))).as_py():
                return None
            try:
                pc.cast(filled, pa.date32())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        elif spec.type in ("decimal", "integer"):
            # plain numbers only (``+5``, ``.5``, ``5.`` and the loose forms: the row path)
            rx = r"^-?[0-9]+(\.[0-9]+)?$" if spec.type == "decimal" else r"^-?[0-9]+$"
            if not pc.all(pc.match_substring_regex(filled, rx)).as_py():
                return None
            if len(filled) and (spec.min is not None or spec.max is not None):
                from decimal import Decimal

                vals = pc.unique(filled).to_pylist()
                nums = [Decimal(v) for v in vals]
                if spec.min is not None and min(nums) < spec.min:
                    return None
                if spec.max is not None and max(nums) > spec.max:
                    return None
    if blank is not None and blank.any():
        return None
    first = table.column(ids[0]).combine_chunks()
    if pc.any(pc.equal(first, "")).as_py():
        return None  # perhaps a total or note row with its text further right
    if _FOOTER_IN.search("\x00" + "\x00".join(pc.unique(first).to_pylist())):
        return None
    rid = table.column("record_id")
    if pc.count_distinct(rid).as_py() != table.num_rows:
        return None
    return table, relaxed, headers


def is_csv_records(records: Any) -> bool:
    return isinstance(records, CsvRecords)

