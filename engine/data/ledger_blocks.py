"""A stored ledger as columns: compressed Arrow blocks in the village database.

A run's ledger (one row per entry: :data:`COLUMNS`, the rows of the ``ledger`` table of
earlier versions) is kept as blocks of up to :data:`BLOCK` entries in ``seq`` order, each an
Arrow IPC stream compressed with zstd, one row of ``ledger_blocks`` (``run_id``, ``block``,
``first_seq``, ``entries``, ``data``) per block. The published copy of a replaced run's ledger
is the same blocks in ``publication_ledger_blocks`` (``period``, ``version`` instead of the
run id).

Why blocks in the database and not a file beside it: a village is one SQLite file (backups,
``xiangyue backup``), and a run's ledger is written in the run's own transaction (a reader sees
the old run or the new one, never a mix). Why blocks in ``seq`` order: every reader of a whole
ledger (its sha256, the run's dump, the published copy, the check of what an import's undo
would change) reads it in that order, a block at a time (memory bounded at any village size);
one household's entries (:func:`read_rows` with ``household``) are filtered block by block in
Arrow. Rows read back are exactly the rows the ``ledger`` table gave: texts, decimals as their
exact text, reasons as JSON text, ``seq`` and ``source_row`` integers, None for empty cells.

Databases written by earlier versions keep their runs in the ``ledger`` table (and published
copies in ``publication_ledger``): :func:`xiangyue.points.ledger.read_ledger` and the others read
whichever form holds a run.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["COLUMNS", "BLOCK", "SCHEMA_SQL", "schema", "from_rows", "write_blocks",
           "read_blocks", "read_rows", "has_blocks", "copy_blocks", "hash_block", "rows_of",
           "system_pool", "behind_publication", "published_copy", "legacy_run", "ledger_rows",
           "ledger_blocks_of"]

#: a stored ledger's columns, in order (the ``ledger`` table's, without ``run_id``)
COLUMNS = ("seq", "record_id", "household", "person", "date", "rule", "rule_name", "category",
           "raw", "awarded", "reasons", "position", "source_file", "source_row")
#: entries per block
BLOCK = 65536
_DICT = ("rule", "rule_name", "category", "raw", "awarded", "reasons", "position", "source_file")

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS ledger_blocks (
    run_id TEXT NOT NULL,
    block INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, block)
);
CREATE TABLE IF NOT EXISTS publication_ledger_blocks (
    period TEXT NOT NULL,
    version INTEGER NOT NULL,
    block INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (period, version, block)
);
"""

_SCHEMA: Any = None


def schema() -> Any:
    """The blocks' Arrow schema: dates as ``date32`` (read back as ISO text), the columns with
    few distinct values dictionary-encoded."""
    global _SCHEMA
    if _SCHEMA is None:
        import pyarrow as pa

        text_dict = pa.dictionary(pa.int32(), pa.string())
        types = {"seq": pa.int64(), "date": pa.date32(), "source_row": pa.int64()}
        _SCHEMA = pa.schema([(c, types.get(c, text_dict if c in _DICT else pa.string()))
                             for c in COLUMNS])
    return _SCHEMA


def from_rows(rows: Iterable[tuple], size: int = BLOCK) -> Iterator[Any]:
    """Blocks (Arrow tables of :func:`schema`) of ledger rows given as tuples of
    :data:`COLUMNS` (dates as ISO text), ``size`` rows each, in the order given."""
    import itertools

    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield table_of(list(zip(*chunk)))


def table_of(columns: list[Any]) -> Any:
    """An Arrow table of :func:`schema` from one Python list (or Arrow array) per column."""
    import datetime as dt

    import pyarrow as pa

    sch = schema()
    arrays = []
    for name, values in zip(COLUMNS, columns):
        typ = sch.field(name).type
        if name == "date" and not isinstance(values, pa.Array):
            values = pa.array([dt.date.fromisoformat(v) for v in values], pa.date32())
        elif pa.types.is_dictionary(typ):
            if not isinstance(values, pa.Array):
                values = pa.array(list(values), pa.string())
            if not pa.types.is_dictionary(values.type):
                values = values.dictionary_encode()
        elif not isinstance(values, pa.Array):
            values = pa.array(list(values), typ)
        arrays.append(values)
    return pa.Table.from_arrays(arrays, schema=sch)


def _blob(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema,
                           options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


@contextlib.contextmanager
def system_pool() -> Iterator[None]:
    """Arrow allocates from the system's allocator meanwhile: it gives back what is freed
    (Arrow's own keeps it: +50 MB at 1M ledger entries). Process-wide while it lasts: keep
    the block short (never around a ``yield``)."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def write_blocks(conn: Any, table: str, key: tuple, blocks: Iterable[Any]) -> int:
    """Store ``blocks`` (in ``seq`` order) as the ledger of ``key`` (``(run_id,)`` in
    ``ledger_blocks``, ``(period, version)`` in ``publication_ledger_blocks``); returns the
    entries written. The caller holds the transaction and has deleted the key's old blocks."""
    marks = ", ".join("?" * (len(key) + 4))
    n = 0
    with system_pool():
        for i, blk in enumerate(blocks):
            if not blk.num_rows:
                continue
            conn.execute(f"INSERT INTO {table} VALUES ({marks})",
                         (*key, i, int(blk.column("seq")[0].as_py()), blk.num_rows, _blob(blk)))
            n += blk.num_rows
    return n


def _where(table: str) -> str:
    return "run_id = ?" if table == "ledger_blocks" else "period = ? AND version = ?"


def has_blocks(conn: Any, table: str, key: tuple) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE {_where(table)} LIMIT 1",
                        key).fetchone() is not None


def read_blocks(conn: Any, table: str, key: tuple, household: str | None = None,
                columns: list[str] | None = None) -> Iterator[Any]:
    """The blocks of ``key``'s ledger in ``seq`` order, one at a time (Arrow tables; only the
    entries of ``household`` with it; only ``columns`` with them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cur = conn.execute(f"SELECT data FROM {table} WHERE {_where(table)} ORDER BY block", key)
    while (row := cur.fetchone()) is not None:
        with system_pool():
            blk = pa.ipc.open_stream(row[0]).read_all()
            if household is not None:
                blk = blk.filter(pc.equal(blk.column("household"), household))
            if columns is not None:
                blk = blk.select(columns)
        yield blk


def rows_of(blk: Any) -> list[tuple]:
    """A block's rows as tuples of Python values (dates as ISO text), as the ``ledger`` table
    gave them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []
    for name in blk.column_names:
        col = blk.column(name)
        if name == "date":
            col = pc.cast(col, pa.string())
        cols.append(col.to_pylist())
    return list(zip(*cols))


def read_rows(conn: Any, table: str, key: tuple, household: str | None = None
              ) -> Iterator[list[tuple]]:
    """The rows of ``key``'s ledger (tuples of :data:`COLUMNS`), a block at a time, in order."""
    for blk in read_blocks(conn, table, key, household):
        if blk.num_rows:
            yield rows_of(blk)


def hash_block(h: Any, blk: Any) -> None:
    """Feed one block to ``h`` as the ledger's sha256 reads it: each row's values as
    ``str(value)`` (``None`` for an empty cell) joined by unit separators, one line each."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not blk.num_rows:
        return
    texts = []
    for name in blk.column_names:
        col = blk.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        col = pc.cast(col, pa.string())
        texts.append(pc.fill_null(col, "None"))
    line = pc.binary_join_element_wise(*texts, "\x1f")
    line = pc.binary_join_element_wise(line, pa.scalar("\n"), "").combine_chunks()
    import numpy as np

    bufs = line.buffers()  # validity, offsets, characters: the lines one after the other
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[line.offset:line.offset + len(line) + 1]
    h.update(memoryview(bufs[2])[int(offsets[0]):int(offsets[-1])])


def copy_blocks(conn: Any, run_id: str, period: str, version: int) -> None:
    """Copy a run's blocks beside a published version (``publication_ledger_blocks``)."""
    conn.execute("INSERT INTO publication_ledger_blocks (period, version, block, first_seq, "
                 "entries, data) SELECT ?, ?, block, first_seq, entries, data FROM "
                 "ledger_blocks WHERE run_id = ? ORDER BY block", (period, version, run_id))


def sha256_of(blocks: Iterable[Any]) -> str:
    h = hashlib.sha256()
    for blk in blocks:
        hash_block(h, blk)
    return h.hexdigest()


# --- which form holds a stored ledger ------------------------------------------------------
# A run's ledger is blocks (``ledger_blocks``) or, written by an earlier version, rows of the
# ``ledger`` table; a published version's copy is blocks (``publication_ledger_blocks``) or
# rows (``publication_ledger``); a version not copied yet is still its run's ledger.


def behind_publication(store: Any, period: str, version: int, run_id: str
                       ) -> tuple[str | None, tuple[str, int] | None]:
    """``(run_id, publication)`` for :func:`ledger_rows` / :func:`ledger_blocks_of`: the
    ledger behind a published version, its copy once its run was replaced, else the run's."""
    if published_copy(store, period, version) is not None:
        return None, (period, version)
    return run_id, None


def published_copy(store: Any, period: str, version: int) -> str | None:
    """Where the copy of a published version's ledger is: "blocks", "rows" (an earlier
    version's ``publication_ledger`` table), or None (not copied: the run is still stored)."""
    conn = store.conn
    if store.has_table("publication_ledger_blocks") and has_blocks(
            conn, "publication_ledger_blocks", (period, version)):
        return "blocks"
    if store.has_table("publication_ledger") and conn.execute(
            "SELECT 1 FROM publication_ledger WHERE period = ? AND version = ? LIMIT 1",
            (period, version)).fetchone() is not None:
        return "rows"
    return None


def legacy_run(store: Any, run_id: str) -> bool:
    """True when the run's ledger is rows of the ``ledger`` table (an earlier version's)."""
    return store.has_table("ledger") and not (
        store.has_table("ledger_blocks") and has_blocks(store.conn, "ledger_blocks", (run_id,)))


def ledger_rows(store: Any, run_id: str | None = None, household: str | None = None, *,
                publication: tuple[str, int] | None = None) -> Iterator[list[tuple]]:
    """The stored rows (tuples of :data:`COLUMNS`, as the ``ledger`` table gave them) of a run's ledger, or of the copy kept beside a published
    version (``publication``: period, version), a block at a time, in ``seq`` order; only
    ``household``'s with it. Reads either form (blocks, or an earlier version's rows)."""
    cols = ", ".join(COLUMNS)
    if publication is not None:
        where = published_copy(store, *publication)
        if where == "blocks":
            yield from read_rows(store.conn, "publication_ledger_blocks", publication, household)
        elif where == "rows":
            yield from _legacy_rows(store, f"SELECT {cols} FROM publication_ledger WHERE "
                                    "period = ? AND version = ?", list(publication), household)
        return
    if not store.has_table("runs"):
        return
    if legacy_run(store, run_id):
        yield from _legacy_rows(store, f"SELECT {cols} FROM ledger WHERE run_id = ?",
                                [run_id], household)
    elif store.has_table("ledger_blocks"):
        yield from read_rows(store.conn, "ledger_blocks", (run_id,), household)


def _legacy_rows(store: Any, sql: str, params: list[Any], household: str | None
                 ) -> Iterator[list[tuple]]:
    if household is not None:
        sql += " AND household = ?"
        params = params + [household]
    cur = store.conn.execute(sql + " ORDER BY seq", params)
    while rows := cur.fetchmany(65536):
        yield rows


def ledger_blocks_of(store: Any, run_id: str | None = None, *,
                     publication: tuple[str, int] | None = None) -> Iterator[Any]:
    """A stored ledger as Arrow blocks of :func:`schema` (either form; an earlier version's
    rows are converted a block at a time)."""
    if publication is not None and published_copy(store, *publication) == "blocks":
        yield from read_blocks(store.conn, "publication_ledger_blocks", publication)
    elif publication is None and store.has_table("runs") and not legacy_run(store, run_id):
        if store.has_table("ledger_blocks"):
            yield from read_blocks(store.conn, "ledger_blocks", (run_id,))
    else:
        for rows in ledger_rows(store, run_id, publication=publication):
            yield table_of(list(zip(*rows)))
