"""A CSV table file straight to columns (``evaluate --records big.csv --households hh.csv``),
without a Python dict per row.

The file is read once, in blocks of whole lines, each parsed by ``pyarrow.csv`` (every cell
as text) and turned at once into compact columns: the key column (``record_id``, or the
household id of a register) as Arrow text, every other column as codes into the column's own
list of distinct cells, each distinct cell converted once by the row path's own
:class:`~xiangyue.data.tables.CellConverter` (so a value is exactly the value the row path
gives, loose dates and full-width ids included). The Arrow text of a block is dropped as soon
as it is coded: memory grows with the codes (1–4 bytes a cell), not with the text.

Only the common clean case is read so: UTF-8 (with or without BOM), the header on row 1
naming only the rule file's fields, one line per row (no blank, ragged, multi-line or
title row; no lone ``\\r``), no total or note row, no cell the row path refuses (its
converter says so), no duplicate key. A file that passes reads to exactly the rows
:func:`xiangyue.data.tables.read_table` would give; anything else (other encodings, title
rows, extra columns, XLSX/JSONL, any bad cell) is left to the row path, so every message stays
the same. The checks of a block are cheap: the key column's bytes are checked with numpy on
its buffers (ASCII, no space or control character, no ``E+``: else its cells go through the
converter one by one), the other columns through their distinct cells only.

A value outside a field's allowed values marks the record invalid here too; the few records
a report lists are turned back into the row path's dicts (with ``_file``/``_row`` and the
same diagnostic) on demand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from xiangyue.points.columnar.expr import Vocab
from xiangyue.points.columnar.load import EPOCH, Columns, _text_list, _value_list, release_arrow_memory
from xiangyue.rules.model import FieldSpec, Ruleset

#: bytes of the file parsed at a time (whole lines): the text of one block is held at once
BLOCK = 1 << 24
_RECORD_KEYS = ("record_id", "household", "date")


class Fallback(Exception):
    """The file is not the clean common case: read it through the row path."""


@dataclass
class CodedColumn:
    """One column as ``codes`` (an integer per row) into ``values`` (the row path's typed
    value of each distinct cell, in order of first appearance)."""

    codes: np.ndarray
    values: list[Any]

    def typed(self, positions: np.ndarray) -> list[Any]:
        vals = self.values
        return [vals[c] for c in self.codes[positions].tolist()]


@dataclass
class CsvTable:
    """A clean CSV table file read to columns: ``key`` (Arrow text, one per row), the other
    present fields coded, ``order`` the field ids in the file's column order, ``headers`` the
    header text of each, ``defaults`` the fields the file lacks (their default)."""

    path: str
    n: int
    key_id: str
    key: Any
    coded: dict[str, CodedColumn]
    order: list[str]
    headers: dict[str, str]
    defaults: dict[str, Any]

    def rows_at(self, positions: Any) -> list[dict[str, Any]]:
        """The row path's dicts of the rows at ``positions`` (fields in the row path's order:
        the file's columns, then the missing fields with their defaults)."""
        import pyarrow as pa

        pos = np.asarray(positions, dtype=np.int64)
        cols: list[list[Any]] = []
        for fid in self.order:
            if fid == self.key_id:
                cols.append(self.key.take(pa.array(pos)).to_pylist())
            else:
                cols.append(self.coded[fid].typed(pos))
        names = self.order + list(self.defaults)
        consts = list(self.defaults.values())
        return [dict(zip(names, (*vals, *consts))) for vals in zip(*cols)]

    def column_values(self, fid: str, positions: np.ndarray | None, vocab: Vocab,
                      spec_type: str) -> Any:
        """The evaluator's column (:class:`~xiangyue.points.columnar.expr.Val`) of ``fid``
        at ``positions`` (None: every row), as :func:`~xiangyue.points.columnar.load.load_records`
        builds it from the row path's dicts: the distinct values are converted once."""
        col = self.coded.get(fid)
        if col is None:
            val = _value_list(spec_type, [self.defaults.get(fid)], vocab)
            n = self.n if positions is None else len(positions)
            return _broadcast(val, np.zeros(n, dtype=np.intp))
        used, inverse = _used(col, positions)
        val = _value_list(spec_type, [col.values[c] for c in used], vocab)
        return _broadcast(val, inverse)

    def mask(self, fid: str, bad: Callable[[Any], bool]) -> np.ndarray | None:
        """True for the rows whose value of ``fid`` is ``bad``; None: none is."""
        col = self.coded.get(fid)
        if col is None:
            return np.ones(self.n, dtype=bool) if bad(self.defaults.get(fid)) else None
        lut = np.array([bad(v) for v in col.values] + [False], dtype=bool)
        return lut[col.codes] if lut.any() else None


def _used(col: CodedColumn, positions: np.ndarray | None) -> tuple[list[int], np.ndarray]:
    """The codes used at ``positions`` (None: every row), in code order, and each row's index
    among them (no sort: codes are small integers)."""
    codes = col.codes if positions is None else col.codes[positions]
    seen = np.bincount(codes, minlength=len(col.values)) > 0
    if seen.all():
        return list(range(len(col.values))), codes
    used = np.flatnonzero(seen)
    remap = np.zeros(len(col.values), dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    return used.tolist(), remap[codes]


def _broadcast(val: Any, index: np.ndarray) -> Any:
    from xiangyue.points.columnar.expr import Val

    null = None if val.null is None else val.null[index]
    if null is not None and not null.any():
        null = None
    return Val(val.kind, val.data[index], val.scale, null)


class CsvRecords:
    """The records of a clean CSV file held as columns (:class:`CsvTable`). Iterating gives
    the row path's dicts (built from the columns); :meth:`columns` gives the columnar
    evaluator's :class:`Columns` without them."""

    def __init__(self, ruleset: Ruleset, table: CsvTable, mark: Callable[..., None]):
        self.ruleset = ruleset
        self.mark = mark  # points.inputs.NotAllowed of the rule file
        self.table = table
        self.path = table.path
        self.headers = table.headers
        self._rows: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return self.table.n

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._rows is None:
            self._rows = self.rows_at(np.arange(self.table.n))
        return iter(self._rows)

    def days(self) -> np.ndarray:
        """Each record's date as days since 1970-01-01."""
        col = self.table.coded["date"]
        lut = np.array([(v - EPOCH).days for v in col.values], dtype=np.int32)
        return lut[col.codes]

    def columns(self, fields: list[FieldSpec], needed: set[str], person: bool,
                start: dt.date, end: dt.date) -> Columns:
        """The records dated ``start``..``end`` as columns (as ``load_records`` builds them
        from the row path's dicts), with the invalid mask of :class:`NotAllowed`."""
        import pyarrow as pa

        from xiangyue.points.columnar.expr import Unsupported

        t = self.table
        day_all = self.days()
        inside = (day_all >= (start - EPOCH).days) & (day_all <= (end - EPOCH).days)
        whole = bool(inside.all())
        keep = None if whole else np.flatnonzero(inside)
        n = t.n if keep is None else len(keep)
        vocab = Vocab.empty()
        specs = {f.id: f for f in fields}
        cols: dict[str, Any] = {}
        for fid in sorted(needed):
            spec = specs.get(fid)
            if spec is None:
                raise Unsupported(f"field {fid} not declared")
            cols[fid] = t.column_values(fid, keep, vocab, spec.type)

        def codes_of(fid: str) -> np.ndarray:
            col = t.coded.get(fid)
            if col is None:
                return np.full(n, _text_list([t.defaults.get(fid)], vocab)[0], np.int32)
            used, inverse = _used(col, keep)
            return _text_list([col.values[c] for c in used], vocab)[inverse]

        household = codes_of("household")
        person_codes = codes_of("person") if person else None
        rid = t.key if whole else t.key.take(pa.array(keep))
        day = day_all if whole else day_all[keep]
        invalid = None
        for f in self.ruleset.fields:
            if f.values:
                allowed = frozenset(f.values)
                bad = t.mask(f.id, lambda v: v is not None and v not in allowed)
                if bad is not None:
                    invalid = bad if invalid is None else invalid | bad
        if invalid is not None and not whole:
            invalid = invalid[keep]
        out = Columns(n, rid, household, person_codes, day, cols, vocab, None,  # type: ignore[arg-type]
                      invalid=invalid if invalid is not None and invalid.any() else None,
                      rank=_rank_if_in_order(day, rid))
        if keep is None:
            out.fetch = self.rows_at
        else:
            out.fetch = lambda idx: self.rows_at(keep[np.asarray(idx, dtype=np.int64)])
        return out

    def rows_at(self, positions: Any) -> list[dict[str, Any]]:
        """The row path's dicts of the records at these positions of the file."""
        mark = self.mark
        path = self.path
        headers = self.headers
        column = (lambda fid: headers.get(fid) or fid)
        out = self.table.rows_at(positions)
        for pos, row in zip(np.asarray(positions, dtype=np.int64).tolist(), out):
            row["_file"] = path
            row["_row"] = pos + 2
            mark(row, column)
        return out


def _rank_if_in_order(day: np.ndarray, rid: Any) -> np.ndarray | None:
    """Each record's place in (date, record_id) order when the file lists them so (as
    clerks' files and exports mostly do: the evaluator then needs no sort of the ids); None
    when it does not. Record ids are unique (checked when read)."""
    import pyarrow.compute as pc

    n = len(day)
    if n < 2 or n >= 2**31 - 1:
        return None
    step = np.diff(day)
    if (step < 0).any():
        return None
    same = step == 0
    if same.any():
        rising = pc.less(rid[:-1], rid[1:]).to_numpy(zero_copy_only=False)
        if (same & ~rising).any():
            return None
    return np.arange(n, dtype=np.int32)


def read_csv_records(ruleset: Ruleset, path: str,
                     mark: Callable[..., None]) -> CsvRecords | None:
    """The CSV record file as :class:`CsvRecords` when it is the clean common case; None
    (read it through the row path) when it is anything else or pyarrow is missing.
    ``mark``: the rule file's :class:`~xiangyue.points.inputs.NotAllowed`."""
    relaxed = [replace(f, values=None, required=False) if f.values or f.id == "person" else f
               for f in ruleset.fields]
    must = list(_RECORD_KEYS) + (["person"] if ruleset.field("person") is not None else [])
    table = read_csv_table(path, relaxed, "record_id", must_have=must,
                           not_empty=_RECORD_KEYS)
    if table is None:
        return None
    return CsvRecords(ruleset, table, mark)


def read_csv_households(ruleset: Ruleset, path: str) -> list[dict[str, Any]] | None:
    """The household register of a clean CSV file as the row path's dicts
    (:func:`xiangyue.points.inputs.read_households_file`), or None: read it by the row path."""
    table = read_csv_table(path, list(ruleset.household_fields), "household",
                           must_have=["household"], not_empty=("household",))
    if table is None:
        return None
    return table.rows_at(np.arange(table.n))


def read_csv_table(path: str, fields: Sequence[FieldSpec], key: str, *,
                   must_have: Sequence[str] = (), not_empty: Sequence[str] = ()
                   ) -> CsvTable | None:
    """A clean CSV table file typed by ``fields`` (as :func:`~xiangyue.data.tables.read_table`
    types it, ``key`` unique), read to columns; None when the file is not the clean common case
    (or pyarrow is missing). ``must_have``: field ids whose column must be there;
    ``not_empty``: field ids whose every cell must give a value. Reusable by any reader of
    table files that wants the same values without the row path's dicts."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    try:
        return _read(path, list(fields), key, must_have, not_empty)
    except Fallback:
        return None


def _header(line: bytes, fields: list[FieldSpec]) -> tuple[list[str], dict[str, str]]:
    from xiangyue.data.tables import match_header

    try:
        names = line.decode("utf-8-sig").rstrip("\r\n").split(",")
    except UnicodeDecodeError:
        raise Fallback from None
    if any('"' in n or not n.strip() for n in names):
        raise Fallback
    ids: list[str] = []
    headers: dict[str, str] = {}
    for n in names:
        spec = match_header(n.strip(), fields)
        if spec is None or spec.id in headers:
            raise Fallback  # extra, unknown or duplicate columns: the row path's notes
        ids.append(spec.id)
        headers[spec.id] = n.strip().lstrip("\ufeff").strip()
    return ids, headers


def _blocks(p: Path) -> Iterator[tuple[bytes, int, bool]]:
    """The file in blocks of whole lines: (bytes, how many of them to read, last). The last
    block may lack its newline; a line cut by a block's end is read again with the next."""
    with p.open("rb") as fh:
        while True:
            data = fh.read(BLOCK)
            if not data:
                return
            cut = data.rfind(b"\n") + 1
            if len(data) < BLOCK:  # the end of the file
                yield data, len(data), True
                return
            if cut == 0:  # a line longer than a block: not the clean case
                raise Fallback
            fh.seek(cut - len(data), 1)
            yield data, cut, False


def _read(path: str, fields: list[FieldSpec], key: str, must_have: Sequence[str],
          not_empty: Sequence[str]) -> CsvTable:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from xiangyue.data.tables import CellConverter, HEADER_SEARCH_ROWS

    p = Path(path)
    if p.suffix.lower() not in (".csv", ".txt") or not p.is_file() or p.stat().st_size == 0:
        raise Fallback
    specs = {f.id: f for f in fields}
    convs = {f.id: CellConverter(f) for f in fields}
    ids: list[str] = []
    headers: dict[str, str] = {}
    coded: dict[str, _Coder] = {}
    keys: list[Any] = []
    n = 0
    first = True
    for data, size, last in _blocks(p):
        start = 0
        if first:
            first = False
            # the row path takes tabs for the delimiter when its first rows hold more tabs
            end = 0
            for _ in range(HEADER_SEARCH_ROWS):
                end = data.find(b"\n", end, size) + 1
                if end == 0:
                    end = size
                    break
            if data.count(b"\t", 0, end) > data.count(b",", 0, end):
                raise Fallback
            start = data.find(b"\n", 0, size) + 1 or size
            ids, headers = _header(data[:start], fields)
            if any(f.required and f.id not in headers for f in fields) or \
                    any(m not in headers for m in must_have) or key not in headers:
                raise Fallback
            coded = {fid: _Coder(convs[fid], fid in not_empty, i == 0)
                     for i, fid in enumerate(ids) if fid != key}
            if start == size:
                continue
        # one line per row: no lone carriage return (the row path ends a row there too)
        if data.find(b"\r", start, size) >= 0 and \
                data.count(b"\r", start, size) != data.count(b"\r\n", start, size):
            raise Fallback
        try:
            table = pcsv.read_csv(
                pa.py_buffer(memoryview(data)[start:size]),
                read_options=pcsv.ReadOptions(column_names=ids, block_size=1 << 21),
                parse_options=pcsv.ParseOptions(newlines_in_values=False,
                                                ignore_empty_lines=False),
                convert_options=pcsv.ConvertOptions(
                    column_types={i: pa.string() for i in ids}, strings_can_be_null=False,
                    quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
            raise Fallback from None
        # as many rows as lines: no cell over two lines (the row numbers hold)
        lines = data.count(b"\n", start, size)
        if table.num_rows != lines + (1 if last and not data.endswith(b"\n") else 0):
            raise Fallback
        del data
        for fid in ids:
            if fid == key:
                keys.extend(_key_chunk(arr, convs[fid], fid == ids[0])
                            for arr in table.column(fid).chunks)
            else:
                coded[fid].add(table.column(fid))
        n += table.num_rows
        del table
    if n == 0:
        raise Fallback  # the row path: no rows
    key_arr = pa.concat_arrays(keys) if len(keys) != 1 else keys[0]
    del keys
    import pyarrow.compute as pc

    if n > 1 and not pc.all(pc.less(key_arr[:-1], key_arr[1:])).as_py() and \
            len(pc.unique(key_arr)) != n:  # (rising keys are all different: no hashing)
        raise Fallback  # a key twice: the row path names both rows
    columns = {fid: c.finish() for fid, c in coded.items()}
    release_arrow_memory()  # the blocks' text, freed: give it back
    defaults = {f.id: f.default for f in fields if f.id not in headers}
    return CsvTable(str(path), n, key, key_arr, columns, ids, headers, defaults)


_SPACE_OR_CONTROL = 0x20
_FOOTER_STARTS = np.frombuffer(b"tTsS", dtype=np.uint8)


def _key_chunk(arr: Any, conv: Any, first_column: bool) -> Any:
    """The key column's cells of a block, checked on their bytes: plain ASCII without spaces,
    control characters or ``E+`` are their own value; else each goes through the converter."""
    import pyarrow as pa

    from xiangyue.data.tables import MAX_CELL, CellError, footer_text

    if len(arr) == 0:
        return arr
    if arr.null_count == 0:
        bufs = arr.buffers()
        offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset: arr.offset + len(arr) + 1]
        data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]: offsets[-1]] \
            if bufs[2] is not None else np.zeros(0, np.uint8)
        lengths = np.diff(offsets)
        if len(data) and lengths.min() > 0 and lengths.max() <= MAX_CELL and \
                data.min() > _SPACE_OR_CONTROL and data.max() < 0x7F and \
                not (data == ord("+")).any():
            if first_column:  # a total row (Total, Subtotal) would be skipped by the row path
                starts = np.isin(data[offsets[:-1] - offsets[0]], _FOOTER_STARTS)
                for i in np.flatnonzero(starts).tolist():
                    if footer_text([arr[i].as_py()]) is not None:
                        raise Fallback
            return arr
    values = []
    for cell in arr.to_pylist():
        if cell is None or len(cell) > MAX_CELL or (first_column and footer_text([cell])):
            raise Fallback
        try:
            v = conv.text(cell)
        except CellError:
            raise Fallback from None
        if v is None:
            raise Fallback
        values.append(v)
    return pa.array(values, pa.string())


class _Coder:
    """Codes of one column, block by block: each distinct cell converted once."""

    def __init__(self, conv: Any, not_empty: bool, first_column: bool):
        self.conv = conv
        self.not_empty = not_empty
        self.first_column = first_column
        self.known: Any = None  # pyarrow array: the cell of each code
        self.values: list[Any] = []
        self.parts: list[np.ndarray] = []

    def add(self, col: Any) -> None:
        """A block's cells of the column (a pyarrow ChunkedArray of text)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from xiangyue.data.tables import MAX_CELL, CellError, footer_text

        if col.num_chunks == 0:
            return
        enc = col.dictionary_encode()  # one dictionary for the chunks
        words = enc.chunk(0).dictionary
        if self.known is None:
            lut = np.full(len(words), -1, dtype=np.int32)
        else:  # the cells seen in earlier blocks: their codes, looked up in C
            lut = np.asarray(pc.index_in(words, value_set=self.known).fill_null(-1)
                             ).astype(np.int32)
        new = np.flatnonzero(lut < 0)
        if len(new):
            values, conv = self.values, self.conv
            cells = words.take(pa.array(new)).to_pylist()
            for i, cell in zip(new.tolist(), cells):
                if cell is None or len(cell) > MAX_CELL:
                    raise Fallback
                if self.first_column and (not cell.strip() or footer_text([cell])):
                    raise Fallback  # a total or note row (perhaps with its text further right)
                try:
                    v = conv.text(cell)
                except CellError:
                    raise Fallback from None
                if v is None and self.not_empty:
                    raise Fallback
                lut[i] = len(values)
                values.append(v)
            fresh = pa.array(cells, pa.string())
            self.known = fresh if self.known is None else pa.concat_arrays([self.known, fresh])
        if len(self.values) <= 1 << 8:
            lut = lut.astype(np.uint8)
        elif len(self.values) <= 1 << 16:
            lut = lut.astype(np.uint16)
        for chunk in enc.chunks:
            self.parts.append(lut[np.asarray(chunk.indices)])

    def finish(self) -> CodedColumn:
        codes = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
        self.parts = []
        return CodedColumn(codes, self.values)
