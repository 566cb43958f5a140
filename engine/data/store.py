"""The village database: one SQLite file (default ``./xiangyue.db``).

Every write happens inside :meth:`Store.transaction` (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled
back on any error), so an import is all or nothing and two clerks writing at once are
serialised: the second waits up to the busy timeout, then gets a clear
:class:`~xiangyue.errors.StoreError` ("database is busy"), never a half-written import. The file
runs in WAL mode so readers never wait for a writer.

Values are stored so they come back exactly: decimals as TEXT (``"0.1"``), dates as ISO TEXT,
booleans as INTEGER 0/1, ids as TEXT (``"001"`` stays ``"001"``). :func:`to_db` and
:func:`from_db` convert one value; :meth:`Store.iter_records` gives back rows in the same typed
representation :func:`xiangyue.data.tables.read_table` produces.

Other modules keep their own tables in the same file: write with ``store.conn`` inside
``with store.transaction():``; :meth:`Store.query` reads rows as dicts. ``store.db`` (a
``sqlite_utils.Database`` on the same connection) is made on first use only: importing
sqlite-utils costs about 0.1 s (it imports numpy when installed), more than most commands'
reads.
"""

from __future__ import annotations

import contextlib
import operator
import datetime as dt
import os
import sqlite3
import threading
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from xiangyue.errors import Diagnostic, StoreError
from xiangyue.i18n import Msg, register
from xiangyue.rules.model import FieldSpec

__all__ = [
    "Store", "open_store", "to_db", "from_db", "columns_to_db", "sql_type",
    "RECORD_META", "DEFAULT_DB", "SCHEMA_VERSION", "KEYS",
]

DEFAULT_DB = "xiangyue.db"
#: the database's layout version (``PRAGMA user_version``): 2 since runs keep their ledger as
#: Arrow blocks (``ledger_blocks``), which an earlier xiangyue would read as an empty ledger
#: (its ``ledger`` table) and hash as such: it now stops with E-STORE-NEWER instead. A version-1
#: database is brought to 2 when opened (nothing else changes in it).
SCHEMA_VERSION = 2
PAGE_SIZE = 32768  # bytes, for new database files
BUSY_TIMEOUT = 5.0  # seconds a writer waits for another writer before giving up
#: seconds a patient writer (storing an evaluation's run, after saying so) waits for another
PATIENT_TIMEOUT = 600.0
_SQLITE_MAGIC = b"SQLite format 3\x00"

register(
    {
        "E-STORE-BUSY": Msg(
            zh="数据库正忙，请稍后重试", en="database is busy, try again",
            hint_zh="另一个程序正在写入 {path}；等它完成后再运行",
            hint_en="another program is writing to {path}; run again when it has finished"),
        "E-STORE-MISSING": Msg(
            zh="数据库文件 {path} 不存在", en="database file {path} does not exist",
            hint_zh="先用 xiangyue households import 或 records import 导入数据",
            hint_en="import data first with xiangyue households import or records import"),
        "E-STORE-NOT-DB": Msg(
            zh="{path} 不是乡约数据库（SQLite）文件", en="{path} is not a xiangyue (SQLite) database",
            hint_zh="用 --db 指定正确的数据库文件；该文件未被改动",
            hint_en="give the right database file with --db; the file was not changed"),
        "E-STORE-OPEN": Msg(
            zh="无法打开数据库 {path}：{reason}", en="cannot open database {path}: {reason}",
            hint_zh="检查路径和文件权限", hint_en="check the path and the file's permissions"),
        "E-STORE-READONLY": Msg(
            zh="数据库 {path} 是只读的，无法写入", en="database {path} is read-only",
            hint_zh="检查文件和所在文件夹的写权限",
            hint_en="check write permission on the file and its folder"),
        "E-STORE-CORRUPT": Msg(
            zh="数据库 {path} 已损坏：{reason}", en="database {path} is damaged: {reason}",
            hint_zh="从备份恢复该文件", hint_en="restore the file from a backup"),
        "E-STORE-IO": Msg(
            zh="读写数据库 {path} 出错：{reason}", en="error using database {path}: {reason}",
            hint_zh="检查磁盘空间和文件权限", hint_en="check disk space and permissions"),
        "E-STORE-NEWER": Msg(
            zh="数据库 {path} 由更新版本的乡约创建（版本 {found}，本程序支持 {supported}）",
            en="database {path} was made by a newer xiangyue (version {found}, "
            "this one supports {supported})",
            hint_zh="升级 xiangyue", hint_en="upgrade xiangyue"),
        "E-STORE-COLUMN": Msg(
            zh="字段名“{name}”与数据库保留列重名", en="field name '{name}' is reserved by the database",
            hint_zh="在规则文件中给该字段换一个 id", hint_en="give the field another id in the rule file"),
    }
)

# -- value conversion -------------------------------------------------------------------------

_SQL_TYPES = {"text": "TEXT", "decimal": "TEXT", "integer": "INTEGER", "date": "TEXT",
              "boolean": "INTEGER"}


def sql_type(kind: str) -> str:
    """The column type a field type is stored as (decimals as TEXT, to stay exact)."""
    return _SQL_TYPES[kind]


def _dec_to_db(v: Any) -> str:
    return format(v, "f") if isinstance(v, Decimal) else str(v)


_TO_DB: dict[str, Callable[[Any], Any] | None] = {
    "text": None, "integer": None, "decimal": _dec_to_db,
    "date": lambda v: v.isoformat(), "boolean": int,
}


def _dec_from_db(v: Any) -> Decimal:
    return Decimal(v) if isinstance(v, str) else Decimal(str(v))


def _date_from_db(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


_FROM_DB: dict[str, Callable[[Any], Any] | None] = {
    "text": lambda v: v if isinstance(v, str) else str(v),
    "integer": int, "decimal": _dec_from_db, "date": _date_from_db, "boolean": bool,
}


def to_db(kind: str, value: Any) -> Any:
    """A typed value as stored (None stays None)."""
    fn = _TO_DB[kind]
    return value if value is None or fn is None else fn(value)


def from_db(kind: str, value: Any) -> Any:
    """A stored value back to its typed form (None stays None)."""
    fn = _FROM_DB[kind]
    return value if value is None or fn is None else fn(value)


def columns_to_db(fields: Sequence[FieldSpec], rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The stored values of ``rows``, column by column (one list per field, ``fields`` order).

    Column-wise so the common types (text, integer) cost no Python call per cell.
    """
    out: list[list[Any]] = []
    for f in fields:
        col = list(map(operator.itemgetter(f.id), rows))
        fn = _TO_DB[f.type]
        if fn is not None:
            if f.type == "date":  # few distinct dates: convert each once
                memo: dict[Any, Any] = {}
                col = [None if v is None else (memo.get(v) or memo.setdefault(v, fn(v)))
                       for v in col]
            else:
                col = [None if v is None else fn(v) for v in col]
        out.append(col)
    return out


# -- schema -----------------------------------------------------------------------------------

#: Columns every imported table carries besides its fields: where each row came from, the
#: import batch that wrote it (``imports.id``) and the cells of columns the rules do not know
#: (a JSON object, or NULL).
RECORD_META = ("source_file", "source_row", "imported_at", "import_id", "extra")

_BASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS households (
    household TEXT PRIMARY KEY,
    head TEXT,
    grid TEXT,
    source_file TEXT,
    source_row INTEGER,
    imported_at TEXT
);
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY,
    household TEXT NOT NULL,
    date TEXT NOT NULL,
    source_file TEXT,
    source_row INTEGER,
    imported_at TEXT
);
CREATE INDEX IF NOT EXISTS records_by_date ON records (date, record_id);
CREATE INDEX IF NOT EXISTS records_by_household ON records (household, date);
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT NOT NULL,
    step TEXT NOT NULL,
    item TEXT,
    title TEXT,
    amount TEXT,
    date TEXT,
    attended INTEGER,
    eligible INTEGER,
    approved INTEGER,
    source_file TEXT,
    source_row INTEGER,
    imported_at TEXT,
    PRIMARY KEY (case_id, step)
);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL,
    added INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    replaced INTEGER NOT NULL,
    ruleset TEXT,
    imported_at TEXT NOT NULL
);
"""

# Added to databases made before import batches could be undone (no schema version change:
# every statement is idempotent, run when a command first needs it).
_BATCH_SCHEMA = """
CREATE TABLE IF NOT EXISTS removed_rows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl TEXT NOT NULL,
    reason TEXT NOT NULL,
    import_id INTEGER,
    removed_at TEXT NOT NULL,
    row TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS removed_rows_by_import ON removed_rows (import_id, reason)
"""

#: The key columns of the three imported tables.
KEYS = {"households": ("household",), "records": ("record_id",), "cases": ("case_id", "step")}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- errors -----------------------------------------------------------------------------------


_USER_FACING = (
    (("locked", "busy"), "E-STORE-BUSY"),
    (("not a database", "file is encrypted"), "E-STORE-NOT-DB"),
    (("malformed", "corrupt"), "E-STORE-CORRUPT"),
    (("readonly", "read-only"), "E-STORE-READONLY"),
    (("unable to open",), "E-STORE-OPEN"),
    (("disk i/o error", "disk is full", "database or disk is full"), "E-STORE-IO"),
)


def _classify(err: BaseException) -> str | None:
    """The E-STORE code of an SQLite error a user can do something about; None for the
    errors that mean a bug (bad SQL, constraint violations), which must not be hidden."""
    if not isinstance(err, sqlite3.DatabaseError) or isinstance(
            err, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return None
    low = str(err).lower()
    for needles, code in _USER_FACING:
        if any(n in low for n in needles):
            return code
    return None


def _store_error(err: BaseException, path: str, code: str | None = None) -> StoreError:
    code = code or _classify(err) or "E-STORE-IO"
    return StoreError(Diagnostic(code, file=path, args={"path": path, "reason": str(err)}))


@contextlib.contextmanager
def _mapped(path: str) -> Iterator[None]:
    """Turn the SQLite errors a user can act on (busy, not a database, damaged, read-only,
    disk) into StoreError; anything else is a bug and propagates unchanged."""
    try:
        yield
    except sqlite3.DatabaseError as err:  # OperationalError is a subclass
        code = _classify(err)
        if code is None:
            raise
        raise _store_error(err, path, code) from err


# -- the store --------------------------------------------------------------------------------


class Store:
    """An open village database. Use :func:`open_store` to get one; close it (or use it as a
    context manager) when done."""

    def __init__(self, conn: sqlite3.Connection, path: str, timeout: float = BUSY_TIMEOUT):
        self._conn = conn
        self._db: Any = None
        self.path = path
        self.timeout = timeout
        self._depth = 0
        self._closed = False
        self._thread = threading.get_ident()  # sqlite3 connections stay in their thread
        self._key = _file_key(path) if path and path != ":memory:" else None
        if self._key is not None:
            with _OPEN_LOCK:
                _OPEN.setdefault(self._key, weakref.WeakSet()).add(self)

    @property
    def db(self) -> Any:
        """A ``sqlite_utils.Database`` on this store's connection (imported on first use)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self._conn, execute_plugins=False)
        return self._db

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """The rows of ``sql`` as dicts (column name -> value), as ``sqlite_utils``'s
        ``Database.query`` gives them."""
        cur = self._conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row))

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()
        self._closed = True
        if self._key is not None:
            with _OPEN_LOCK:
                _OPEN.get(self._key, weakref.WeakSet()).discard(self)

    def _open(self) -> bool:
        return not self._closed

    def _reopen(self) -> None:
        """A fresh connection to the same file, set up as :func:`open_store` sets it up."""
        with _mapped(self.path):
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            _configure(conn, self.timeout)
        self._conn = conn
        self._db = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    # -- transactions ---------------------------------------------------------------------
    def _begin(self, on_wait: Callable[[], None] | None) -> None:
        """``BEGIN IMMEDIATE``; with ``on_wait``, when another program holds the write lock,
        call it once (to say so) and wait up to :data:`PATIENT_TIMEOUT` seconds."""
        conn = self.conn
        if on_wait is None:
            with _mapped(self.path):
                conn.execute("BEGIN IMMEDIATE")
            return
        try:
            with _mapped(self.path):
                conn.execute("PRAGMA busy_timeout = 0")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as err:
                    if _classify(err) != "E-STORE-BUSY":
                        raise
                on_wait()
                conn.execute(f"PRAGMA busy_timeout = {int(PATIENT_TIMEOUT * 1000)}")
                conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    @contextlib.contextmanager
    def transaction(self, *, on_wait: Callable[[], None] | None = None) -> Iterator["Store"]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` on any exception. Nested use
        becomes a savepoint. A database another writer holds longer than the busy timeout
        gives ``StoreError`` E-STORE-BUSY (nothing written); with ``on_wait`` the writer is
        patient instead (see :meth:`_begin`)."""
        conn = self.conn
        if conn.in_transaction:
            name = f"xiangyue_{self._depth}"
            self._depth += 1
            with _mapped(self.path):
                conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                raise
            else:
                with _mapped(self.path):
                    conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        self._begin(on_wait)
        try:
            with _mapped(self.path):
                yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            with _mapped(self.path):
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # -- schema ---------------------------------------------------------------------------
    def create_tables(self, schema: str) -> None:
        """Run ``schema``'s statements (``CREATE TABLE/INDEX IF NOT EXISTS ...;``) one by one:
        inside the caller's transaction (``executescript`` would commit it first)."""
        with _mapped(self.path):
            for stmt in schema.split(";"):
                if stmt.strip():
                    self.conn.execute(stmt)

    def has_table(self, table: str) -> bool:
        """Whether the database has ``table`` (a job's tables are made by its first write)."""
        with _mapped(self.path):
            return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                     "name = ?", (table,)).fetchone() is not None

    def columns(self, table: str) -> list[str]:
        with _mapped(self.path):
            return [r[1] for r in self.conn.execute(f"PRAGMA table_info({_q(table)})")]

    def ensure_columns(self, table: str, fields: Sequence[FieldSpec]) -> list[str]:
        """Add a column for each field the table lacks (ALTER TABLE ADD COLUMN); returns the
        names added. Call inside a transaction to make it part of an import."""
        have = set(self.columns(table))
        added = []
        for f in fields:
            if f.id in RECORD_META:
                raise StoreError(Diagnostic("E-STORE-COLUMN", file=f.pos.file,
                                            line=f.pos.line, column=f.pos.column,
                                            args={"name": f.id}))
            if f.id not in have:
                with _mapped(self.path):
                    self.conn.execute(
                        f"ALTER TABLE {_q(table)} ADD COLUMN {_q(f.id)} {sql_type(f.type)}")
                have.add(f.id)
                added.append(f.id)
        return added

    def ensure_batches(self, table: str | None = None) -> None:
        """The bookkeeping of import batches: ``import_id`` and ``extra`` columns on ``table``,
        ``undone_at``/``undo_note`` on ``imports``, and the ``removed_rows`` archive (what an
        undo or a replacement took out). Idempotent; call inside the write transaction."""
        self.create_tables(_BATCH_SCHEMA)
        with _mapped(self.path):
            have = set(self.columns("imports"))
            for col in ("undone_at", "undo_note"):
                if col not in have:
                    self.conn.execute(f"ALTER TABLE imports ADD COLUMN {col} TEXT")
            if table is not None:
                have = set(self.columns(table))
                for col, kind in (("import_id", "INTEGER"), ("extra", "TEXT")):
                    if col not in have:
                        self.conn.execute(f"ALTER TABLE {_q(table)} ADD COLUMN {col} {kind}")
                # no index on import_id: an undo is rare and scans once; every import would
                # pay for keeping one up to date

    def count(self, table: str) -> int:
        with _mapped(self.path):
            return self.conn.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0]

    # -- reading --------------------------------------------------------------------------
    def _typed_rows(self, table: str, fields: Sequence[FieldSpec], where: str, params: list[Any],
                    order: str) -> Iterator[dict[str, Any]]:
        have = set(self.columns(table))
        present = [f for f in fields if f.id in have]
        absent = {f.id: f.default for f in fields if f.id not in have}
        select = ", ".join(_q(f.id) for f in present) or "NULL"
        sql = f"SELECT {select} FROM {_q(table)}{where} ORDER BY {order}"
        convs = [(f.id, _FROM_DB[f.type]) for f in present]
        defaults = {f.id: f.default for f in present}
        with _mapped(self.path):
            cursor = self.conn.execute(sql, params)
            while batch := cursor.fetchmany(1000):  # streaming: a county need not fit in memory
                for values in batch:
                    row: dict[str, Any] = {}
                    for (fid, fn), v in zip(convs, values):
                        row[fid] = defaults[fid] if v is None else (fn(v) if fn else v)
                    if absent:
                        row.update(absent)
                    yield row

    def iter_records(self, fields: Sequence[FieldSpec], start: dt.date | None = None,
                     end: dt.date | None = None, *,
                     household: str | None = None) -> Iterator[dict[str, Any]]:
        """Records (typed dicts of ``fields``) dated ``start``..``end`` (inclusive, either may be
        None), ordered by date then record_id (text order), streamed from the database;
        only one household's with ``household`` (through the ``records_by_household`` index)."""
        where, params = _date_range(start, end)
        if household is not None:
            where = (where + " AND" if where else " WHERE") + " household = ?"
            params.append(household)
        return self._typed_rows("records", fields, where, params, "date, record_id")

    def households(self, fields: Sequence[FieldSpec] | None = None, *,
                   household: str | None = None) -> list[dict[str, Any]]:
        """The household register, ordered by household id (only ``household``'s row when
        given). With ``fields``, typed dicts of those fields; without, every stored column
        except the import bookkeeping."""
        if fields is None:
            cols = [c for c in self.columns("households") if c not in RECORD_META]
            fields = [FieldSpec(c, "text") for c in cols]
        where, params = (" WHERE household = ?", [household]) if household is not None else ("", [])
        return list(self._typed_rows("households", fields, where, params, "household"))

    def household_ids(self) -> set[str]:
        with _mapped(self.path):
            return {r[0] for r in self.conn.execute("SELECT household FROM households")}

    def iter_cases(self, fields: Sequence[FieldSpec], start: dt.date | None = None,
                   end: dt.date | None = None) -> Iterator[dict[str, Any]]:
        """Case steps (typed dicts of ``fields``) ordered by case_id, then date, then the order
        they were imported in; ``start``/``end`` filter on the step's date."""
        where, params = _date_range(start, end)
        return self._typed_rows("cases", fields, where, params,
                                "case_id, date, source_file, source_row")

    def record_extras(self, ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """record id -> its extra fields (columns the rules do not know, kept on import)."""
        import json

        if "extra" not in self.columns("records"):
            return {}
        out: dict[str, dict[str, str]] = {}
        with _mapped(self.path):
            for start in range(0, len(ids), 500):
                part = list(ids[start:start + 500])
                for rid, extra in self.conn.execute(
                        "SELECT record_id, extra FROM records WHERE extra IS NOT NULL AND "
                        f"record_id IN ({', '.join('?' * len(part))})", part):
                    out[rid] = json.loads(extra)
        return out

    def imports(self) -> list[dict[str, Any]]:
        """The import log, oldest first."""
        with _mapped(self.path):
            return list(self.query("SELECT * FROM imports ORDER BY id"))


def _date_range(start: dt.date | None, end: dt.date | None) -> tuple[str, list[Any]]:
    conds, params = [], []
    if start is not None:
        conds.append("date >= ?")
        params.append(start.isoformat())
    if end is not None:
        conds.append("date <= ?")
        params.append(end.isoformat())
    return (" WHERE " + " AND ".join(conds) if conds else ""), params


def _configure(conn: sqlite3.Connection, timeout: float) -> None:
    """The settings of every connection of a store (they last as long as the connection)."""
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.execute("PRAGMA synchronous = NORMAL")  # safe in WAL mode
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: index upkeep of big imports


#: the open stores of this process, by file (see :func:`released`)
_OPEN: dict[Any, "weakref.WeakSet[Store]"] = {}
_OPEN_LOCK = threading.Lock()


def _file_key(path: str) -> Any:
    return os.path.realpath(path)


_GUARDS: dict[Any, threading.RLock] = {}


def file_guard(path: str | os.PathLike[str]) -> threading.RLock:
    """The lock of this process on the database file ``path``: held while a ``sqlite3``
    connection to it is being opened, and for the whole of a :func:`released` block (so no
    thread opens the file while a second SQLite library has it open)."""
    key = _file_key(os.fspath(path))
    with _OPEN_LOCK:
        return _GUARDS.setdefault(key, threading.RLock())


class StillInUse(Exception):
    """A store of this process cannot let go of the file now (a transaction is open, or it
    belongs to another thread)."""


@contextlib.contextmanager
def released(path: str) -> Iterator[None]:
    """No connection of this process's SQLite (Python's ``sqlite3``) open on the file ``path``
    for the time of the block: every open :class:`Store` on it is closed, then opened again.

    For a second copy of the SQLite library in the same process (``adbc-driver-sqlite`` links
    its own): POSIX locks belong to the process, so when that copy closes its descriptors of
    the file, its -wal or -shm, every lock this copy holds on them is gone without it knowing.
    Another program then finds no one holding the database: it truncates the -shm it has
    mapped (SIGBUS), rebuilds the WAL index under its transaction (``locking protocol``) or, as
    the last connection, checkpoints and deletes the -wal and -shm. The two copies must never
    have the file open at the same time ("How To Corrupt An SQLite Database File" §2.2).

    Raises :class:`StillInUse` (nothing closed) when a store of the file is inside a
    transaction or was opened by another thread.
    """
    with file_guard(path):
        with _OPEN_LOCK:
            stores = [s for s in _OPEN.get(_file_key(path), ()) if s._open()]
        me = threading.get_ident()
        for s in stores:
            if s._conn.in_transaction or s._depth or s._thread != me:
                raise StillInUse(s.path)
        for s in stores:
            s._conn.close()
        try:
            yield
        finally:
            for s in stores:
                s._reopen()


def open_store(path: str | os.PathLike[str] = DEFAULT_DB, *, create: bool = True,
               timeout: float = BUSY_TIMEOUT) -> Store:
    """Open (and, with ``create``, make) the village database at ``path``.

    ``timeout``: seconds a write waits for another writer before E-STORE-BUSY.
    A file that is not an SQLite database is refused before SQLite touches it (it stays
    byte-identical); a missing file with ``create=False``, an unreadable one, a read-only or
    busy one give :class:`~xiangyue.errors.StoreError`.
    """
    name = str(path)
    p = Path(path)
    memory = name == ":memory:"
    if not memory:
        if p.is_dir():
            raise _store_error(sqlite3.OperationalError("is a directory / 是文件夹"), name,
                               "E-STORE-OPEN")
        if not p.exists():
            if not create:
                raise StoreError(Diagnostic("E-STORE-MISSING", file=name, args={"path": name}))
            if not p.parent.is_dir() and str(p.parent) not in ("", "."):
                raise _store_error(sqlite3.OperationalError(
                    f"folder {p.parent} not found / 文件夹不存在"), name, "E-STORE-OPEN")
        else:
            try:
                with p.open("rb") as fh:
                    head = fh.read(len(_SQLITE_MAGIC))
            except OSError as err:
                raise StoreError(Diagnostic("E-STORE-OPEN", file=name, args={
                    "path": name, "reason": err.strerror or str(err)})) from None
            if head and head != _SQLITE_MAGIC:
                raise StoreError(Diagnostic("E-STORE-NOT-DB", file=name, args={"path": name}))
    conn: sqlite3.Connection | None = None
    try:
        with contextlib.nullcontext() if memory else file_guard(name):
            with _mapped(name):
                conn = sqlite3.connect(name, timeout=timeout, isolation_level=None)
                # The first read checks the whole header; nothing is written before it.
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(Diagnostic("E-STORE-NEWER", file=name, args={
                        "path": name, "found": version, "supported": SCHEMA_VERSION}))
                if version == 0:
                    # a new file: 32 KiB pages (no effect on an existing one). Imports of many rows
                    # split fewer pages and write fewer WAL frames: 1M records import about 30%
                    # faster than with the default 4 KiB pages.
                    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                if not memory and conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                _configure(conn, timeout)
            store = Store(conn, name, timeout)
        if version < SCHEMA_VERSION:
            try:
                with store.transaction():
                    again = conn.execute("PRAGMA user_version").fetchone()[0]
                    if again < SCHEMA_VERSION:
                        store.create_tables(_BASE_SCHEMA)
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except StoreError as err:
                # a version-1 database on a read-only share (a county reviewer's copy) is read
                # as it is; a new or writable one is made current above
                if version == 0 or err.diagnostics[0].code != "E-STORE-READONLY":
                    raise
        return store
    except BaseException:
        if conn is not None:
            conn.close()
        raise
