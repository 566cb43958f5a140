"""Reading records into columns for the fast path.

Two sources: the village database (a :class:`~xiangyue.data.store.Store`), read through Arrow
(``adbc-driver-sqlite``) in two threads, and any iterable of record dicts (as
:func:`xiangyue.points.evaluate.evaluate` takes). Either way the result is a :class:`Columns`:
compact numpy arrays for the fields the rules read (text as codes of one vocabulary,
decimals as scaled ``int64``), the record ids, and a way to get a few records back as
dicts (for the records a report lists: unmatched, not covered, invalid).

Only records dated from ``start`` to ``end`` are read. Values mean what
:meth:`Store.iter_records` gives the straightforward evaluator: an empty cell is the field's
default, or None.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from xiangyue.data.ledger_blocks import system_pool
from xiangyue.data.store import StillInUse, released
from xiangyue.points.columnar.expr import MAX_SCALE, Unsupported, Val, Vocab, decimal_to_scaled
from xiangyue.points.results import INVALID
from xiangyue.rules.model import FieldSpec

EPOCH = dt.date(1970, 1, 1)


@dataclass
class Columns:
    """Records as columns (row order is the source's; the fast path sorts them)."""

    n: int
    record_id: Any  # pyarrow StringArray (text order = code point order, as in Python)
    household: np.ndarray  # int32 codes into vocab, -1 empty
    person: np.ndarray | None  # int32 codes, -1 empty (unit: person)
    day: np.ndarray  # int32 days since 1970-01-01
    fields: dict[str, Val]  # field id -> column (only the fields the rules read)
    vocab: Vocab
    fetch: Callable[[np.ndarray], list[dict[str, Any]]]  # row positions -> typed dicts
    #: each record's place in (date, record_id) order, when the source knows it (the
    #: database's date index); None: sort the record ids
    rank: np.ndarray | None = None
    #: database row ids (when the record ids were not read: see :meth:`ids`)
    rowid: np.ndarray | None = None
    store: Any = None
    #: True for records that carry a reason they cannot be scored (a value outside its
    #: field's allowed values: :data:`xiangyue.points.results.INVALID`); None: none do
    invalid: np.ndarray | None = None
    #: after ``permute(..., lazy_ids=True)``: the record ids in the source's order (then
    #: ``record_id`` is None) and where each row's id is in it; read through :meth:`rid_take`
    rid_src: Any = None
    rid_at: np.ndarray | None = None

    def rid_take(self, idx: np.ndarray) -> Any:
        """The record ids of the rows at ``idx``, as a pyarrow array."""
        import pyarrow as pa

        if self.rid_src is not None:
            return self.rid_src.take(pa.array(np.asarray(self.rid_at[idx], dtype=np.int64)))
        return self.record_id.take(pa.array(np.asarray(idx, dtype=np.int64)))

    def ids(self, idx: np.ndarray) -> list[str]:
        """The record ids of the rows at ``idx``."""
        if self.record_id is not None or self.rid_src is not None:
            return self.rid_take(idx).to_pylist()
        return _ids_by_rowid(self.store, self.rowid[idx].tolist())

    def permute(self, order: np.ndarray, index: np.ndarray | None = None,
                lazy_ids: bool = False) -> None:
        """Put the rows in ``order``, in place (one column at a time: memory stays flat).
        ``index``: the same positions as ``intp`` (numpy gathers by them without a cast, much
        faster on 10M rows than by ``int32``), used for the gathers only and not kept.
        ``lazy_ids``: leave the record ids where they are (a million texts not moved when
        only a few are read again: :meth:`ids`, :meth:`rid_take`)."""
        import pyarrow as pa

        at = order if index is None else index
        for k, v in self.fields.items():
            v.data = v.data[at]
            if v.null is not None:
                v.null = v.null[at]
        self.household = self.household[at]
        if self.person is not None:
            self.person = self.person[at]
        self.day = self.day[at]
        if self.rid_src is not None:
            self.rid_at = self.rid_at[at]
        elif self.record_id is not None and lazy_ids:
            self.rid_src, self.rid_at, self.record_id = self.record_id, order, None
        elif self.record_id is not None:
            self.record_id = self.record_id.take(pa.array(at))
        if self.rowid is not None:
            self.rowid = self.rowid[at]
        if self.rank is not None:
            self.rank = self.rank[at]
        if self.invalid is not None:
            self.invalid = self.invalid[at]
        if "household" in self.fields:
            self.fields["household"] = Val("text", self.household, 0, None)
        if "date" in self.fields:
            self.fields["date"] = Val("date", self.day, 0, None)
        if "person" in self.fields and self.person is not None:
            self.fields["person"].data = self.person
        parent = self.fetch

        def fetch(idx: np.ndarray) -> list[dict[str, Any]]:
            return parent(order[idx])

        self.fetch = fetch

    def take(self, order: np.ndarray) -> "Columns":
        fields = {}
        for k, v in self.fields.items():
            fields[k] = Val(v.kind, v.data[order], v.scale,
                            None if v.null is None else v.null[order])
        parent = self.fetch

        def fetch(idx: np.ndarray) -> list[dict[str, Any]]:
            return parent(order[idx])

        return Columns(
            len(order), self.rid_take(order) if self.record_id is not None or self.rid_src is not None
            else None, self.household[order],
            None if self.person is None else self.person[order], self.day[order], fields,
            self.vocab, fetch, invalid=None if self.invalid is None else self.invalid[order],
        )


def not_allowed_mask(cols: Columns, fields: Sequence[FieldSpec]) -> np.ndarray | None:
    """True for the records holding a value outside its field's allowed values (as
    :class:`xiangyue.points.inputs.NotAllowed` marks record dicts); None: no record does.
    The fields with ``values`` must have been read."""
    mask = None
    for spec in fields:
        if not spec.values:
            continue
        col = cols.fields.get(spec.id)
        if col is None or col.kind != "text":
            raise Unsupported(f"allowed values of the field {spec.id}")
        allowed = np.array([cols.vocab.find(w) for w in spec.values], dtype=np.int64)
        bad = (col.data >= 0) & ~np.isin(col.data, allowed)
        mask = bad if mask is None else mask | bad
    return mask if mask is not None and mask.any() else None


_TRIM: Any = None


def release_memory() -> None:
    """Give the C heap's freed pages back to the system (glibc's ``malloc_trim``; elsewhere
    nothing). Arrays of a batch freed by one thread stay in its arena otherwise, and count
    to the process's peak while the next columns are built."""
    global _TRIM
    if _TRIM is None:
        _TRIM = False
        try:
            import ctypes
            import ctypes.util

            _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
            _TRIM.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            pass
    if _TRIM:
        _TRIM(0)


def release_arrow_memory() -> None:
    """What Arrow's pool freed (a file's text once coded, columns once staged) back to it,
    then the C heap's freed pages back to the system (:func:`release_memory`)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    release_memory()


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


# ------------------------------------------------------------------------------------------
# Arrow arrays -> columns


def _text_codes(arr: Any, vocab: Vocab, default: Any = None) -> np.ndarray:
    """Codes of a pyarrow array of texts in the shared vocabulary (-1: empty)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.null_count and default is not None:
        arr = pc.fill_null(arr, str(default))
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        if pa.types.is_null(arr.type):
            return np.full(len(arr), -1 if default is None else vocab.code(str(default)),
                           dtype=np.int32)
        # a text field the database holds as numbers (an old import): text of each value
        arr = pc.cast(arr, pa.string())
    enc = arr.dictionary_encode()
    words = enc.dictionary.to_pylist()
    lut = np.array([vocab.code(w) for w in words] + [-1], dtype=np.int32)
    idx = enc.indices
    if idx.null_count:
        idx = pc.fill_null(idx, len(words))
    return lut[np.asarray(idx)]


def _decimal_column(arr: Any, default: Any) -> Val:
    """Exact scaled integers of a pyarrow array of decimal texts (or integers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(arr.type):
        arr = pa.array([None] * len(arr), pa.string())
    if pa.types.is_integer(arr.type):
        dec, scale = None, 0
        ints = arr
    elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        dec = None
        for scale in (3, 6, MAX_SCALE):
            try:
                dec = pc.cast(arr, pa.decimal128(38, scale))
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        if dec is None:
            raise Unsupported("a decimal value with too many places or not a number")
        ints = None
    else:
        raise Unsupported(f"decimal column stored as {arr.type}")
    if dec is not None:
        words = np.frombuffer(dec.buffers()[1], dtype=np.int64)[2 * dec.offset: 2 * (dec.offset + len(dec))]
        low, high = words[0::2], words[1::2]
        if not np.array_equal(high, low >> 63):
            raise Unsupported("a decimal value too large for 64 bits")
        data = low.copy()
        null = np.asarray(dec.is_null()) if dec.null_count else None
    else:
        null = np.asarray(ints.is_null()) if ints.null_count else None
        data = np.asarray(pc.fill_null(ints, 0)).astype(np.int64)
    if null is not None:
        data[null] = 0
        if default is not None:
            v, s = decimal_to_scaled(Decimal(default))
            if s > scale:
                raise Unsupported("default with more places than the data")
            data[null] = v * 10 ** (scale - s)
            null = None
    # the smallest scale that holds every value exactly (integers stay at scale 0)
    while scale > 0 and not np.any(data % 10):
        data //= 10
        scale -= 1
    if null is not None and not null.any():
        null = None
    return Val("num", data, scale, null)


def _int_column(arr: Any, default: Any) -> Val:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(arr.type):
        arr = pa.array([None] * len(arr), pa.int64())
    if not pa.types.is_integer(arr.type):
        raise Unsupported(f"integer column stored as {arr.type}")
    null = np.asarray(arr.is_null()) if arr.null_count else None
    data = np.asarray(pc.fill_null(arr, 0)).astype(np.int64)
    if null is not None and default is not None:
        data[null] = int(default)
        null = None
    return Val("num", data, 0, null)


def _bool_column(arr: Any, default: Any) -> Val:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(arr.type):
        arr = pa.array([None] * len(arr), pa.int64())
    null = np.asarray(arr.is_null()) if arr.null_count else None
    data = np.asarray(pc.fill_null(arr, 0)).astype(bool)
    if null is not None and default is not None:
        data[null] = bool(default)
        null = None
    return Val("bool", data, 0, null)


def _date_column(arr: Any, default: Any) -> Val:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(arr.type):
        arr = pa.array([None] * len(arr), pa.string())
    try:
        d = pc.cast(arr, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Unsupported("a date column with values that are not ISO dates") from None
    null = np.asarray(d.is_null()) if d.null_count else None
    data = np.asarray(pc.fill_null(d.cast(pa.int32()), 0)).astype(np.int32)
    if null is not None and default is not None:
        data[null] = _day(default)
        null = None
    return Val("date", data, 0, null)


def _field_column(spec: FieldSpec, arr: Any, vocab: Vocab) -> Val:
    if spec.type == "text":
        codes = _text_codes(arr, vocab, spec.default)
        null = codes < 0
        return Val("text", codes, 0, null if null.any() else None)
    if spec.type == "decimal":
        return _decimal_column(arr, spec.default)
    if spec.type == "integer":
        return _int_column(arr, spec.default)
    if spec.type == "boolean":
        return _bool_column(arr, spec.default)
    if spec.type == "date":
        return _date_column(arr, spec.default)
    raise Unsupported(spec.type)


# ------------------------------------------------------------------------------------------
# The database


_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
#: the database's note of where a record was imported from, as the evaluator's records carry
#: it (``xiangyue.points.evaluate.stored_records``): ``_file`` and ``_row``
_META = (FieldSpec("source_file", "text"), FieldSpec("source_row", "integer"))
_META_KEY = {"source_file": "_file", "source_row": "_row"}
_TEXT_NULL = "\ue000\ue001\u2400"  # no clerk types this
_TEXT_NULL_SQL = "char(57344, 57345, 9216)"
_INT_NULL = "-9223372036854775807"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_only_uri(path: str) -> str:
    """The database as a read-only SQLite URI for the ADBC readers: they never write, never
    checkpoint. ADBC links its own copy of SQLite, which knows nothing of this process's
    sqlite3 connections: they are closed while it reads (``xiangyue.data.store.released``)."""
    from pathlib import Path

    return Path(path).resolve().as_uri() + "?mode=ro"


def load_store(store: Any, fields: Sequence[FieldSpec], needed: set[str], person: bool,
               start: dt.date, end: dt.date, threads: int = 2,
               batch_rows: int = 131072, with_ids: bool = False) -> Columns:
    """The records dated ``start``..``end`` from the village database, as columns."""
    try:
        from adbc_driver_sqlite import dbapi as adbc
    except ImportError:  # pragma: no cover - a broken install
        raise Unsupported("adbc-driver-sqlite is not installed (pip install xiangyue again)")

    path = store.path
    if not path or path == ":memory:":
        raise Unsupported("an in-memory database")
    have = set(store.columns("records"))
    lo, hi = store.conn.execute(  # two sub-queries: each is one index probe
        "SELECT (SELECT min(rowid) FROM records), (SELECT max(rowid) FROM records)").fetchone()
    try:
        # ADBC's own copy of SQLite and this process's sqlite3 never have the file open at
        # the same time: closing the one's descriptors drops the other's locks (see released);
        # Arrow's own allocator keeps what it frees, the system's gives it back (bounded memory)
        with released(path), system_pool():
            return _load_store(store, fields, needed, person, start, end, threads, batch_rows,
                               with_ids, path, adbc, have, lo, hi)
    except StillInUse:
        raise Unsupported("the database is inside a transaction of this program") from None


def _load_store(store: Any, fields: Sequence[FieldSpec], needed: set[str], person: bool,
                start: dt.date, end: dt.date, threads: int, batch_rows: int, with_ids: bool,
                path: str, adbc: Any, have: set[str], lo: int | None, hi: int | None) -> Columns:
    import pyarrow as pa

    specs = {f.id: f for f in fields}
    wanted = [f for f in sorted(needed) if f in specs and f not in ("record_id", "household", "date", "person")]
    if with_ids:  # a ledger: its entries say where each record was imported from
        for f in _META:
            if f.id in have and f.id not in specs:
                specs[f.id] = f
                wanted.append(f.id)
    ranked: list[Any] = []

    def read_order() -> None:
        """Row ids in (date, record_id) order: a walk of the date index, no sort."""
        try:
            conn = adbc.connect(_read_only_uri(path))
            try:
                cur = conn.cursor()
                try:
                    cur.execute("PRAGMA busy_timeout = 5000")
                    cur.fetchall()
                    cur.execute("SELECT rowid FROM records WHERE date >= ? AND date <= ? "
                                "ORDER BY date, record_id", (start.isoformat(), end.isoformat()))
                    ranked.append(cur.fetch_arrow_table().column(0))
                finally:
                    cur.close()
            finally:
                conn.close()
        except Exception:  # noqa: BLE001 - no order: the record ids are sorted instead
            ranked.clear()

    # the date index gives the order; record ids are then read only when asked for
    read_order()
    if lo is None:
        lo, hi = 0, 0
    lo -= 1
    # each row id's place in (date, record_id) order, looked up batch by batch as the rows
    # are read (so no full column of 64-bit row ids is ever held)
    by_rowid: np.ndarray | None = None
    n_ranked = 0
    if ranked:
        in_order = np.asarray(ranked[0].combine_chunks() if hasattr(ranked[0], "combine_chunks")
                              else ranked[0])
        ranked.clear()
        n_ranked = len(in_order)
        if n_ranked and (int(in_order.min()) <= lo or int(in_order.max()) > hi):
            n_ranked = -1  # the table changed between the two reads
        elif n_ranked < 2**31 - 1:
            by_rowid = np.full(int(hi) - int(lo) + 1, -1, dtype=np.int32)
            by_rowid[in_order - int(lo)] = np.arange(n_ranked, dtype=np.int32)
        del in_order
    read_ids = with_ids or by_rowid is None or "record_id" in needed
    cols = (["record_id"] if read_ids else []) + ["household", "date"] + (["person"] if person else [])
    cols += [f for f in wanted if f in have]
    # The driver infers a column's type from its first rows (an empty cell reads as INT64),
    # so empty cells come back as a sentinel of the column's own type, then as nulls again.
    def sel(c: str) -> str:
        kind = "text" if c in ("record_id", "household", "date", "person") else specs[c].type
        blank = _INT_NULL if kind in ("integer", "boolean") else _TEXT_NULL_SQL
        return f"ifnull({_q(c)}, {blank}) AS {_q(c)}"

    select = ", ".join(sel(c) for c in cols) + ", rowid AS _rowid"
    # ``+date`` keeps SQLite from walking the date index (a range on rowid, a plain scan)
    sql = (f"SELECT {select} FROM records WHERE rowid > ? AND rowid <= ? "
           f"AND +date >= ? AND +date <= ?")
    bounds = np.linspace(lo, hi, threads + 1).astype(np.int64)
    parts: list[list[dict[str, Any]]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    lock = threading.Lock()
    vocab = Vocab.empty()

    def blanks(arr: Any) -> Any:
        """The sentinel cells back to nulls."""
        import pyarrow.compute as pc

        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            blank = pc.equal(arr, _TEXT_NULL)
        elif pa.types.is_integer(arr.type):
            blank = pc.equal(arr, int(_INT_NULL))
        else:
            return arr
        if pc.any(blank).as_py():
            arr = pc.if_else(blank, pa.scalar(None, arr.type), arr)
        return arr

    def convert(batch: Any) -> dict[str, Any]:
        """One batch of rows as compact arrays; the texts are dropped."""
        col = {name: blanks(batch.column(name)) for name in batch.schema.names}
        part: dict[str, Any] = {"n": batch.num_rows}
        d = _date_column(col["date"], None)
        if d.null is not None:
            raise Unsupported("records without a date")
        part["day"] = d.data
        rowid_b = np.asarray(col["_rowid"])
        if by_rowid is not None:
            part["rank"] = by_rowid[rowid_b - int(lo)]
        part["_rowid"] = rowid_b.astype(np.int32 if int(hi) < 2**31 else np.int64)
        if read_ids:
            rid = col["record_id"]
            if not (pa.types.is_string(rid.type) or pa.types.is_large_string(rid.type)):
                raise Unsupported("record ids not stored as text")
            # a copy: an array imported from the driver keeps its whole batch (every column's
            # texts) alive until its last buffer is freed
            part["record_id"] = pa.concat_arrays([rid, pa.array([], rid.type)])
        with lock:
            part["household"] = _text_codes(col["household"], vocab)
            if person:
                part["person"] = _text_codes(col["person"], vocab)
            for fid in wanted:
                arr = col[fid] if fid in have else pa.array([None] * batch.num_rows, pa.null())
                part[fid] = _field_column(specs[fid], arr, vocab)
        return part

    def read(i: int) -> None:
        try:
            conn = adbc.connect(_read_only_uri(path))
            try:
                cur = conn.cursor()
                try:
                    # two readers opening a WAL file at once may meet its recovery lock
                    cur.execute("PRAGMA busy_timeout = 5000")
                    cur.fetchall()
                    cur.adbc_statement.set_options(**{_BATCH_ROWS: str(batch_rows)})
                    cur.execute(sql, (int(bounds[i]), int(bounds[i + 1]),
                                      start.isoformat(), end.isoformat()))
                    for batch in cur.fetch_record_batch():
                        if batch.num_rows:
                            parts[i].append(convert(batch))
                finally:
                    cur.close()
            finally:
                conn.close()
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(err)

    workers = [threading.Thread(target=read, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        if isinstance(errors[0], Unsupported):
            raise errors[0]
        raise Unsupported(f"reading the database through Arrow failed: {errors[0]}")
    flat = [p for ps in parts for p in ps]
    n = sum(p["n"] for p in flat)

    def cat(key: str, dtype: Any) -> np.ndarray:
        if not flat:
            return np.zeros(0, dtype=dtype)
        out = np.concatenate([p.pop(key) for p in flat])
        release_memory()  # the batches' pieces, freed in the readers' arenas
        return out.astype(dtype, copy=False)

    by_rowid_known = by_rowid is not None
    by_rowid = None  # free the table (the readers that used it have finished)
    day = cat("day", np.int32)
    rowid = cat("_rowid", np.int32 if int(hi) < 2**31 else np.int64)
    rank = None
    if n_ranked == n and by_rowid_known:
        rank = cat("rank", np.int32)
        if (rank < 0).any():  # the table changed between the two reads
            rank = None
    household = cat("household", np.int32)
    person_codes = cat("person", np.int32) if person else None
    rid = None
    if read_ids:
        rid = pa.chunked_array([p.pop("record_id") for p in flat], type=pa.string()) \
            if flat else pa.chunked_array([], type=pa.string())
        rid = rid.combine_chunks() if rid.num_chunks > 1 else rid
    if rank is None and rid is None:
        raise Unsupported("the records changed while they were read")
    columns: dict[str, Val] = {}
    for fid in wanted:
        vals = [p.pop(fid) for p in flat]
        columns[fid] = _concat_vals(vals, specs[fid], vocab)
        del vals
        release_memory()
    for builtin in ("record_id", "household", "date"):
        if builtin in needed:
            if builtin == "household":
                columns[builtin] = Val("text", household, 0, None)
            elif builtin == "date":
                columns[builtin] = Val("date", day, 0, None)
            else:
                columns[builtin] = _field_column(FieldSpec("record_id", "text"),
                                                 rid.combine_chunks(), vocab)
    if person and "person" in needed:
        columns["person"] = Val("text", person_codes, 0,
                                (person_codes < 0) if (person_codes < 0).any() else None)

    out = Columns(n, rid, household, person_codes, day, columns, vocab, None, rank,  # type: ignore[arg-type]
                  rowid, store)

    def fetch(idx: np.ndarray) -> list[dict[str, Any]]:  # positions as read (not permuted)
        # by row id (record ids are the table's key: the same rows), so that this function
        # keeps the row ids as read alive, not every record id once more
        return fetch_records(store, fields, rowid[idx].tolist(), by_rowid=True)

    out.fetch = fetch
    return out


def _ids_by_rowid(store: Any, rowids: list[int]) -> list[str]:
    found: dict[int, str] = {}
    for i in range(0, len(rowids), 500):
        chunk = rowids[i:i + 500]
        sql = f"SELECT rowid, record_id FROM records WHERE rowid IN ({', '.join('?' * len(chunk))})"
        found.update(store.conn.execute(sql, chunk))
    return [found[r] for r in rowids]


def _concat_vals(vals: list[Val], spec: FieldSpec, vocab: Vocab) -> Val:
    """One column from the columns of each batch (decimals brought to one scale)."""
    kind = {"text": "text", "decimal": "num", "integer": "num", "boolean": "bool",
            "date": "date"}[spec.type]
    if not vals:
        dtype = {"text": np.int32, "num": np.int64, "bool": bool, "date": np.int32}[kind]
        return Val(kind, np.zeros(0, dtype=dtype), 0, None)
    scale = max(v.scale for v in vals)
    datas = []
    for v in vals:
        data = v.data
        if v.scale < scale:
            f = 10 ** (scale - v.scale)
            if len(data) and int(np.abs(data).max()) >= (1 << 62) // f:
                raise Unsupported("a decimal value too large for 64 bits")
            data = data * f
        datas.append(data)
    data = np.concatenate(datas)
    if any(v.null is not None for v in vals):
        null = np.concatenate([v.null if v.null is not None else np.zeros(len(v.data), bool)
                               for v in vals])
    else:
        null = None
    return Val(kind, data, scale, null)


def fetch_records(store: Any, fields: Sequence[FieldSpec], ids: list[Any],
                  by_rowid: bool = False) -> list[dict[str, Any]]:
    """Typed records (as :meth:`Store.iter_records` gives them) by record id (or, with
    ``by_rowid``, by the database's row id: one lookup, not two), in ``ids`` order."""
    from xiangyue.data.store import from_db

    have = set(store.columns("records"))
    present = [f for f in fields if f.id in have]
    absent = {f.id: f.default for f in fields if f.id not in have}
    meta = [f for f in _META if f.id in have]  # where each record was imported from
    key = "rowid" if by_rowid else "record_id"
    select = ", ".join([_q(f.id) for f in present + meta] + [key])
    found: dict[Any, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT {select} FROM records WHERE {key} IN ({marks})"
        for values in store.conn.execute(sql, chunk):
            row: dict[str, Any] = {}
            for f, v in zip(present, values):
                row[f.id] = f.default if v is None else from_db(f.type, v)
            row.update(absent)
            for f, v in zip(meta, values[len(present):]):
                row[_META_KEY[f.id]] = from_db(f.type, v) if v is not None else None
            found[values[-1] if by_rowid else row["record_id"]] = row
    return [found[i] for i in ids]


# ------------------------------------------------------------------------------------------
# Record dicts


def _text_list(values: list[Any], vocab: Vocab) -> np.ndarray:
    cache: dict[Any, int] = {}
    out = np.empty(len(values), dtype=np.int32)
    for i, v in enumerate(values):
        c = cache.get(v)
        if c is None:
            if v is None:
                c = -1
            elif isinstance(v, str):
                c = vocab.code(v)
            else:
                raise Unsupported(f"a text field holding {type(v).__name__}")
            cache[v] = c
        out[i] = c
    return out


def _value_list(spec_type: str, values: list[Any], vocab: Vocab) -> Val:
    n = len(values)
    null = np.fromiter((v is None for v in values), dtype=bool, count=n)
    has_null = bool(null.any())
    if spec_type == "text":
        codes = _text_list(values, vocab)
        return Val("text", codes, 0, null if has_null else None)
    if spec_type in ("decimal", "integer"):
        cache: dict[Any, tuple[int, int]] = {}
        pairs = []
        for v in values:
            if v is None:
                pairs.append((0, 0))
                continue
            if isinstance(v, bool) or not isinstance(v, (Decimal, int)):
                raise Unsupported(f"a number field holding {type(v).__name__}")
            p = cache.get(v)
            if p is None:
                p = cache[v] = decimal_to_scaled(Decimal(v))
            pairs.append(p)
        scale = max((s for _, s in pairs), default=0)
        if any(abs(x) >= (1 << 62) // 10 ** (scale - s) for x, s in pairs):
            raise Unsupported("a number too large for 64 bits")
        data = np.array([x * 10 ** (scale - s) for x, s in pairs], dtype=np.int64)
        return Val("num", data, scale, null if has_null else None)
    if spec_type == "boolean":
        if any(v is not None and not isinstance(v, bool) for v in values):
            raise Unsupported("a boolean field holding something else")
        data = np.fromiter((bool(v) for v in values), dtype=bool, count=n)
        return Val("bool", data, 0, null if has_null else None)
    if spec_type == "date":
        if any(v is not None and not isinstance(v, dt.date) for v in values):
            raise Unsupported("a date field holding something else")
        data = np.fromiter((0 if v is None else (v - EPOCH).days for v in values),
                           dtype=np.int32, count=n)
        return Val("date", data, 0, null if has_null else None)
    raise Unsupported(spec_type)


def load_records(records: Iterable[Mapping[str, Any]], fields: Sequence[FieldSpec],
                 needed: set[str], person: bool, start: dt.date, end: dt.date) -> Columns:
    """Record dicts dated ``start``..``end`` as columns (values taken as they are)."""
    import pyarrow as pa

    kept = [r for r in records if isinstance(r.get("date"), dt.date) and start <= r["date"] <= end]
    n = len(kept)
    specs = {f.id: f for f in fields}
    vocab = Vocab.empty()
    columns: dict[str, Val] = {}
    for fid in sorted(needed):
        spec = specs.get(fid)
        if spec is None:
            raise Unsupported(f"field {fid} not declared")
        columns[fid] = _value_list(spec.type, [r.get(fid) for r in kept], vocab)
    hh_values = [r.get("household") for r in kept]
    if any(h is not None and not isinstance(h, str) for h in hh_values):
        raise Unsupported("household ids that are not text")
    household = _text_list(hh_values, vocab)
    person_codes = None
    if person:
        pv = [r.get("person") for r in kept]
        if any(p is not None and not isinstance(p, str) for p in pv):
            raise Unsupported("person names that are not text")
        person_codes = _text_list(pv, vocab)
    rid = pa.array([str(r.get("record_id") or "") for r in kept], pa.string())
    day = np.fromiter(((r["date"] - EPOCH).days for r in kept), dtype=np.int32, count=n)

    def fetch(idx: np.ndarray) -> list[dict[str, Any]]:
        return [kept[int(i)] for i in idx]

    invalid = np.fromiter((r.get(INVALID) is not None for r in kept), dtype=bool, count=n)
    return Columns(n, rid, household, person_codes, day, columns, vocab, fetch,
                   invalid=invalid if invalid.any() else None)
