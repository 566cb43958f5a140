"""A clean CSV record file into the database in bulk: no Python object per cell.

``records import big.csv`` of a file the columnar reader accepts as clean
(:func:`xiangyue.points.columnar.csvload.read_csv_records`: UTF-8, the header on row 1, one line
per record, no cell the row path would question, no repeated record id) is checked here for
what an import asks beyond an evaluation (every required field filled, every value among the
field's allowed values), turned into the values the row path stores (:func:`~xiangyue.data.store.to_db`
of each typed cell, the field's default for an empty one), written to a staging SQLite file
by ``adbc-driver-sqlite`` (C++, from the Arrow columns) and copied into the village database
with one ``INSERT … SELECT`` inside the import's transaction (:class:`xiangyue.data.ingest._Import`).
Any file this does not accept (other encodings, title rows, loose numbers or dates, a bad
cell, XLSX/JSONL, ...) returns None and goes the row path, so every message stays the same.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from xiangyue.rules.model import FieldSpec, Ruleset

#: Files larger than this go the row path: the clean reader holds the whole file in memory
#: (about twice its size as Arrow columns), the row path a block of rows at a time.
MAX_BYTES = 256 << 20

STAGED = "xiangyue_staged"  # the schema name of the attached staging file
_ROWS = "rows"  # its one table


@dataclass
class CleanRecords:
    """The records of a clean CSV file as the row path would store them: ``table`` holds one
    Arrow column per field (``fields`` order, stored form) and ``source_row``."""

    table: Any  # pyarrow.Table
    headers: dict[str, str]  # field id -> its header text in the file

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    def column(self, field_id: str) -> Any:
        return self.table.column(field_id)


def _unused(*_args: Any) -> Any:
    raise AssertionError("the row path is not read here")  # pragma: no cover


def clean_records(path: str | os.PathLike[str], fields: Sequence[FieldSpec],
                  ruleset: Ruleset) -> CleanRecords | None:
    """The record file's stored columns when it is a clean UTF-8 CSV the import accepts as it
    is; None (the row path) otherwise, or when pyarrow / adbc-driver-sqlite are missing."""
    try:
        import adbc_driver_sqlite  # noqa: F401  (needed by staged())
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from xiangyue.points.columnar.csvload import read_csv_records
    except ImportError:
        return None
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
    except OSError:
        return None
    found = read_csv_records(ruleset, str(path), _unused, _unused)
    if found is None:
        return None
    from xiangyue.data.store import to_db

    table = found.table
    n = table.num_rows
    columns: list[Any] = []
    for f in fields:
        if f.type not in ("text", "decimal", "integer", "date"):
            return None
        if f.id not in table.column_names:
            if f.required:
                return None  # the row path names the missing column
            columns.append(pa.array([to_db(f.type, f.default)] * n, _arrow_type(pa, f))
                           if f.default is not None else pa.nulls(n, _arrow_type(pa, f)))
            continue
        col = table.column(f.id).combine_chunks()
        empty = pc.equal(col, "")
        has_empty = pc.any(empty).as_py()
        if has_empty and f.required:
            return None  # E-TABLE-REQUIRED: the row path says where
        if f.values:
            if f.type != "text":
                return None
            allowed = pa.array(list(f.values), pa.string())
            if not pc.all(pc.or_(empty, pc.is_in(col, allowed))).as_py():
                return None  # E-TABLE-VALUE
        if f.type == "decimal":
            # the text as stored: Decimal's own form ('007.50' -> '7.50'), each distinct once
            uniq = pc.unique(col)
            stored = [to_db("decimal", _decimal(t)) if t else None for t in uniq.to_pylist()]
            col = pc.take(pa.array(stored, pa.string()), pc.index_in(col, uniq))
        elif f.type == "integer":
            try:
                col = pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), col), pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        elif has_empty:
            col = pc.if_else(empty, pa.scalar(None, pa.string()), col)
        if has_empty and f.default is not None:
            col = pc.fill_null(col, pa.scalar(to_db(f.type, f.default), _arrow_type(pa, f)))
        columns.append(col)
    names = [f.id for f in fields]
    out = pa.table(columns + [pa.array(np.arange(2, n + 2, dtype=np.int64))],
                   names=names + ["source_row"])
    return CleanRecords(out, dict(found.headers))


def _decimal(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def _arrow_type(pa: Any, f: FieldSpec) -> Any:
    return pa.int64() if f.type == "integer" else pa.string()


@contextlib.contextmanager
def staged(conn: Any, records: CleanRecords) -> Iterator[str]:
    """The records written to a staging SQLite file (``adbc_ingest``: C++ from the Arrow
    columns, no Python per cell), attached to ``conn`` as :data:`STAGED`; yields the table to
    ``SELECT`` from. Detached and deleted afterwards. Attach before the import's
    transaction: SQLite detaches only outside one."""
    from adbc_driver_sqlite import dbapi as adbc

    from xiangyue.data.store import PAGE_SIZE

    with tempfile.TemporaryDirectory(prefix="xiangyue-import-") as folder:
        path = os.path.join(folder, "staged.db")
        with adbc.connect(path, autocommit=True) as db:
            with db.cursor() as cur:
                cur.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # as the village database's
                cur.execute("PRAGMA journal_mode = OFF")
                cur.execute("PRAGMA synchronous = OFF")
                cur.adbc_ingest(_ROWS, records.table, mode="create")
        conn.execute(f"ATTACH DATABASE ? AS {STAGED}", (path,))
        try:
            yield f"{STAGED}.{_ROWS}"
        finally:
            # (an error inside a transaction still open: the file goes with its folder)
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"DETACH DATABASE {STAGED}")


def first_rows(column: Any, values: set[Any]) -> dict[Any, list[int]]:
    """For each of ``values`` found in ``column`` (an Arrow column of a
    :class:`CleanRecords`): [its first row number, how many rows], in the order of first
    appearance (as the row path counts them)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    out: dict[Any, list[int]] = {}
    if not values:
        return out
    hit = pc.is_in(column, pa.array(list(values), column.type))
    positions = np.flatnonzero(np.asarray(pc.fill_null(hit, False)))
    for pos, v in zip(positions.tolist(), column.take(pa.array(positions)).to_pylist()):
        seen = out.get(v)
        if seen is None:
            out[v] = [pos + 2, 1]
        else:
            seen[1] += 1
    return out


def distinct(column: Any) -> set[Any]:
    """The distinct values of an Arrow column (None for empty cells)."""
    import pyarrow.compute as pc

    return set(pc.unique(column).to_pylist())
