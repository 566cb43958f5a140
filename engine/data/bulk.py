"""A clean CSV record file into the database in bulk: no Python object per cell.

``records import big.csv`` of a file the columnar reader accepts as clean
(:func:`xiangyue.points.columnar.csvload.read_csv_table` with the import's own fields: UTF-8,
the header on row 1, one line per record, no cell the row path's converter refuses — so every
required field filled, every value among the field's allowed values and within its bounds —,
no repeated record id) goes in bulk. The reader gives each column as codes into the row path's
typed values, one per distinct cell; each of those is turned once into the value the row path
stores (:func:`~xiangyue.data.store.to_db`), the rows are written block by block to a staging
SQLite file by ``adbc-driver-sqlite`` (C++, from Arrow batches: memory holds the codes and one
batch, not the file's text) and copied into the village database with one ``INSERT … SELECT``
inside the import's transaction (:class:`xiangyue.data.ingest._Import`). Any file this does
not accept (other encodings, title rows, a bad cell, XLSX/JSONL, ...) returns None and goes
the row path, so every message stays the same.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from xiangyue.rules.model import FieldSpec, Ruleset

#: Files larger than this go the row path (memory bounded by its block of rows): the reader
#: keeps every row's record id and codes until the file is staged, so the peak (the read's)
#: grows with the file (measured on jingou, the whole import: 0.34 GB at 1M records, 0.61 GB
#: in-process and 0.68 GB from the CLI at 10M = a 572 MiB file; the row path stays near
#: 0.26 GB). 640 MiB takes the benchmark's 10M records in bulk under 1 GB.
MAX_BYTES = 640 << 20

STAGED = "xiangyue_staged"  # the schema name of the attached staging file
_ROWS = "rows"  # its one table
#: rows of one Arrow batch written to the staging file (its text: a few MB)
BATCH_ROWS = 1 << 16
_NUMBERS = ("integer", "boolean")  # stored as SQLite integers


@dataclass
class CleanRecords:
    """The records of a clean CSV file as the row path would store them: ``table`` the
    reader's :class:`~xiangyue.points.columnar.csvload.CsvTable`, ``stored`` for each coded
    field the stored value of each code, ``fields`` in the import's order."""

    table: Any  # csvload.CsvTable; None once staged (:meth:`release`)
    fields: list[FieldSpec]
    stored: dict[str, list[Any]]
    headers: dict[str, str]  # field id -> its header text in the file
    n: int = 0
    #: field id -> {stored value: [first row, rows]} (first-appearance order), for the
    #: fields kept by :meth:`release`
    summary: dict[str, dict[Any, list[int]]] = field(default_factory=dict)

    def release(self, keep: Sequence[str]) -> None:
        """Drop the columns once staged (the import's SQLite work then runs beside no copy of
        the file), keeping for the fields ``keep`` each value's first row and count."""
        for fid in keep:
            self.summary[fid] = self._count(fid)
        self.table = None
        self.stored = {}
        from xiangyue.points.columnar.load import release_arrow_memory

        release_arrow_memory()  # the freed columns' memory back to the system

    def batches(self) -> Any:
        """The stored rows as a ``pyarrow.RecordBatchReader`` (one column per field, then
        ``source_row``), made batch by batch from the codes."""
        import pyarrow as pa

        t = self.table
        types = [pa.int64() if f.type in _NUMBERS else pa.string() for f in self.fields]
        schema = pa.schema([(f.id, ty) for f, ty in zip(self.fields, types)]
                           + [("source_row", pa.int64())])
        words = {f.id: pa.array(self.stored[f.id], ty) for f, ty in zip(self.fields, types)
                 if f.id in self.stored}  # the stored value of each code

        def make() -> Iterator[Any]:
            for start in range(0, t.n, BATCH_ROWS):
                stop = min(t.n, start + BATCH_ROWS)
                cols = []
                for f, ty in zip(self.fields, types):
                    if f.id == t.key_id:
                        cols.append(t.key.slice(start, stop - start))
                    elif f.id in words:
                        cols.append(words[f.id].take(pa.array(t.coded[f.id].codes[start:stop])))
                    else:  # not in the file: its default
                        cols.append(pa.array([self.constant(f)] * (stop - start), ty))
                cols.append(pa.array(np.arange(start + 2, stop + 2, dtype=np.int64)))
                yield pa.record_batch(cols, schema=schema)

        return pa.RecordBatchReader.from_batches(schema, make())

    def constant(self, f: FieldSpec) -> Any:
        from xiangyue.data.store import to_db

        return to_db(f.type, self.table.defaults.get(f.id))

    def _groups(self, fid: str) -> tuple[np.ndarray | None, list[Any]]:
        """The column ``fid`` as (each row's group, each group's stored value): cells that
        differ in the file may store the same value (``007.50``, ``7.50``). None: one group
        for every row (a field the file lacks)."""
        t = self.table
        if fid == t.key_id:
            enc = t.key.dictionary_encode()
            return np.asarray(enc.indices), enc.dictionary.to_pylist()
        vals = self.stored.get(fid)
        if vals is None:
            spec = next(f for f in self.fields if f.id == fid)
            return None, [self.constant(spec)]
        index: dict[Any, int] = {}
        lut = np.array([index.setdefault(v, len(index)) for v in vals], dtype=np.int32)
        codes = t.coded[fid].codes
        return (codes if len(index) == len(vals) else lut[codes]), list(index)

    def _count(self, fid: str) -> dict[Any, list[int]]:
        """Each stored value of field ``fid``: [its first row number, how many rows], in the
        order of first appearance (as the row path counts them)."""
        groups, vals = self._groups(fid)
        if groups is None:
            return {vals[0]: [2, self.n]} if self.n else {}
        found, first, count = np.unique(groups, return_index=True, return_counts=True)
        return {vals[int(found[i])]: [int(first[i]) + 2, int(count[i])]
                for i in np.argsort(first, kind="stable").tolist()}

    def distinct(self, fid: str) -> set[Any]:
        """The distinct stored values of field ``fid`` (None for empty cells)."""
        if fid in self.summary:
            return set(self.summary[fid])
        return set(self._groups(fid)[1])

    def first_rows(self, fid: str, values: set[Any]) -> dict[Any, list[int]]:
        """For each of ``values`` found in field ``fid``: [its first row number, how many
        rows], in the order of first appearance (as the row path counts them)."""
        counted = self.summary.get(fid)
        if counted is None:
            counted = self._count(fid)
        return {v: list(c) for v, c in counted.items() if v in values}


def clean_records(path: str | os.PathLike[str], fields: Sequence[FieldSpec],
                  ruleset: Ruleset, key: str = "record_id") -> CleanRecords | None:
    """The record file's stored columns when it is a clean UTF-8 CSV the import accepts as it
    is; None (the row path) otherwise, or when pyarrow / adbc-driver-sqlite are missing."""
    try:
        import adbc_driver_sqlite  # noqa: F401  (needed by staged())
        import pyarrow as pa

        from xiangyue.points.columnar.csvload import read_csv_table
    except ImportError:
        return None
    fields = list(fields)
    spec = next((f for f in fields if f.id == key), None)
    if spec is None or spec.type != "text" or \
            any(f.type not in ("text", "decimal", "integer", "date", "boolean") for f in fields):
        return None
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
    except OSError:
        return None
    table = read_csv_table(str(path), fields, key)
    if table is None:
        return None
    from xiangyue.data.store import to_db

    stored: dict[str, list[Any]] = {}
    for f in fields:
        col = table.coded.get(f.id)
        if col is None:
            continue
        vals = [to_db(f.type, v) for v in col.values]  # each distinct cell once
        try:
            pa.array(vals, pa.int64() if f.type in _NUMBERS else pa.string())
        except (pa.ArrowInvalid, OverflowError):
            return None  # an integer beyond 64 bits: the row path says what SQLite says
        stored[f.id] = vals
    return CleanRecords(table, fields, stored, dict(table.headers), table.n)


#: the staging folders' names (hidden); one left by an import killed before it could remove it
#: is removed by a later import once it is older than :data:`STALE_STAGING_SECONDS`
STAGING_PREFIX = ".xiangyue-import-"
STALE_STAGING_SECONDS = 24 * 3600  # no import runs for a day: its folder is a leftover


def remove_stale_staging(folder: str, *, now: float | None = None) -> list[str]:
    """Remove the staging folders in ``folder`` that imports killed long ago left behind (a
    copy of a records file each, up to hundreds of MB); returns their paths. A folder younger
    than a day may be another import's, running now: it is left alone."""
    import shutil
    import time

    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(STAGING_PREFIX):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_STAGING_SECONDS:
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


@contextlib.contextmanager
def staged(conn: Any, records: CleanRecords, beside: str | None = None) -> Iterator[str]:
    """The records written to a staging SQLite file (``adbc_ingest``: C++ from Arrow batches,
    no Python per cell), attached to ``conn`` as :data:`STAGED`; yields the table to
    ``SELECT`` from. Detached and deleted afterwards. Attach before the import's
    transaction: SQLite detaches only outside one.

    The file goes in a private hidden folder beside the village database ``beside`` (the
    same disk, which holds the records anyway; not a shared temporary folder, which may be
    memory and outlives a killed import's copy of the village's data elsewhere); the system's
    temporary folder only for a database without a folder (``:memory:``)."""
    from adbc_driver_sqlite import dbapi as adbc

    from xiangyue.data.store import PAGE_SIZE

    where = None
    if beside and beside != ":memory:":
        where = os.path.dirname(os.path.abspath(beside))
        remove_stale_staging(where)
    with tempfile.TemporaryDirectory(prefix=STAGING_PREFIX, dir=where) as folder:
        path = os.path.join(folder, "staged.db")
        with adbc.connect(path, autocommit=True) as db:
            with db.cursor() as cur:
                cur.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # as the village database's
                cur.execute("PRAGMA journal_mode = OFF")
                cur.execute("PRAGMA synchronous = OFF")
                cur.adbc_ingest(_ROWS, records.batches(), mode="create")
        conn.execute(f"ATTACH DATABASE ? AS {STAGED}", (path,))
        try:
            yield f"{STAGED}.{_ROWS}"
        finally:
            # (an error inside a transaction still open: the file goes with its folder)
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"DETACH DATABASE {STAGED}")
